print("specdec")

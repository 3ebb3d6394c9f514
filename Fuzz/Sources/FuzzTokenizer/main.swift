// libFuzzer runs fuzzTokenizer on each input.
import Foundation
import FuzzSupport

exit(runFuzzer(fuzzTokenizer))

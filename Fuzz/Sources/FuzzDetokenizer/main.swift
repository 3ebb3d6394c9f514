// libFuzzer runs fuzzDetokenizer on each input.
import Foundation
import FuzzSupport

exit(runFuzzer(fuzzDetokenizer))

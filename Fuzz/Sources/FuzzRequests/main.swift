// libFuzzer runs fuzzRequests on each input.
import Foundation
import FuzzSupport

exit(runFuzzer(fuzzRequests))

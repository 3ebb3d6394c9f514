// libFuzzer runs fuzzDatasets on each input.
import Foundation
import FuzzSupport

exit(runFuzzer(fuzzDatasets))

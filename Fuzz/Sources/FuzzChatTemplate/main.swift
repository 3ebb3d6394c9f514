// libFuzzer runs fuzzChatTemplate on each input.
import Foundation
import FuzzSupport

exit(runFuzzer(fuzzChatTemplate))

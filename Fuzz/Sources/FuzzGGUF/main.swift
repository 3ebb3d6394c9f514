// libFuzzer runs fuzzGGUF on each input.
import Foundation
import FuzzSupport

// An empty corpus folder (the first argument) is seeded with tiny models of each architecture and
// weight format, and the first 64 KiB of each real model in the cache (a header cut inside its metadata).
if CommandLine.arguments.count > 1 { seedCorpus(CommandLine.arguments[1]) }
exit(runFuzzer(fuzzGGUF))

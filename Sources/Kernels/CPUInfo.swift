import Foundation

/// What the figures of a run were measured on: the CPU's model name and the kernel set in use.
public enum CPUInfo {
    /// The CPU's model name (`model name` in /proc/cpuinfo on Linux; "unknown" where it cannot be read).
    public static let modelName: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }()

    /// "MODEL NAME, N CPUs, kernels SET": the line stated beside every speed figure.
    public static var summary: String {
        "\(modelName), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, kernels \(KernelSet.active)"
    }
}

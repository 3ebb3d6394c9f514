extension Tokenizer {
    /// The text for `tokens`.
    ///
    /// Normal tokens decode to their text (byte-level spelling undone, `▁` back to a space);
    /// byte tokens `<0xNN>` to that byte; user-defined tokens to their text; unused slots and
    /// out-of-range ids to nothing. Control tokens decode to their text unless `skipSpecial`.
    /// Bytes that do not form valid UTF-8 become U+FFFD. With ``addSpacePrefix``, the space that
    /// encoding added in front of the first word is removed again.
    public func decode(_ tokens: [Int32], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        var stripSpace = addSpacePrefix
        for id in tokens {
            let before = bytes.count
            appendBytes(of: id, skipSpecial: skipSpecial, to: &bytes)
            if stripSpace, let t = tokenType(id), t != .control, t != .unknown {
                if bytes.count > before && bytes[before] == 0x20 { bytes.remove(at: before) }
                stripSpace = false
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes token `id` stands for (possibly part of a UTF-8 sequence).
    public func bytes(for id: Int32, skipSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        appendBytes(of: id, skipSpecial: skipSpecial, to: &out)
        return out
    }

    /// Appends the bytes of token `id` to `out`.
    func appendBytes(of id: Int32, skipSpecial: Bool, to out: inout [UInt8]) {
        guard id >= 0, Int(id) < types.count else { return }
        let i = Int(id)
        switch types[i] {
        case .control, .unknown:
            if !skipSpecial { out.append(contentsOf: table.text(i)) }
        case .userDefined:
            out.append(contentsOf: table.text(i))
        case .unused, .undefined:
            return
        case .byte:
            if let b = Tokenizer.byteValue(table.text(i)) {
                out.append(b)
            } else {
                out.append(contentsOf: table.text(i))
            }
        case .normal:
            let text = table.text(i)
            switch kind {
            case .byteLevelBPE:
                ByteLevel.decode(text, into: &out)
            case .sentencePiece:
                var k = text.startIndex
                while k < text.endIndex {
                    if text[k] == 0xE2, k + 2 < text.endIndex, text[k + 1] == 0x96, text[k + 2] == 0x81 {
                        out.append(0x20)
                        k += 3
                    } else {
                        out.append(text[k])
                        k += 1
                    }
                }
            }
        }
    }

    /// The byte named by a `<0xNN>` token text.
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        guard text.count == 6 else { return nil }
        let t = Array(text)
        guard t[0] == 0x3C, t[1] == 0x30, t[2] == 0x78 || t[2] == 0x58, t[5] == 0x3E else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        guard let hi = hex(t[3]), let lo = hex(t[4]) else { return nil }
        return hi << 4 | lo
    }
}

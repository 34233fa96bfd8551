@testable import HugepageGuardCore
import XCTest

final class ASCIITextTests: XCTestCase {
    /// The word-at-a-time search finds what a byte-by-byte one finds, from every start, with
    /// matches at every offset in a word, next to bytes one above or below them (where a
    /// borrow in the word test could mislead it), and with none at all.
    func testFirstIndexOfEitherByte_agreesWithAPlainSearch() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x0A, 0x0D, 0x09, 0x0B, 0x0C, 0x0E, 0x00, 0xFF, 0x80, 0x8A, 0x8D, 0x20, 0x23, 0x61]
        for length in 0..<70 {
            for _ in 0..<20 {
                // Mostly ordinary text, a few of the bytes searched for and their neighbours.
                let bytes = (0..<length).map { _ -> UInt8 in
                    Int.random(in: 0..<8, using: &generator) == 0 ? alphabet.randomElement(using: &generator)! : 0x78
                }
                bytes.withUnsafeBufferPointer { b in
                    for start in 0...length {
                        let plain = b[start...].firstIndex { $0 == 0x0A || $0 == 0x0D } ?? length
                        XCTAssertEqual(b.firstIndex(of: 0x0A, or: 0x0D, from: start), plain, "\(bytes) from \(start)")
                        let newline = b[start...].firstIndex(of: 0x0A) ?? length
                        XCTAssertEqual(b.firstIndex(of: 0x0A, or: 0x0A, from: start), newline, "\(bytes) from \(start)")
                    }
                }
            }
        }
    }

    func testFirstIndexOfEitherByte_pastTheEnd_isTheEnd() {
        [UInt8](repeating: 0x0A, count: 3).withUnsafeBufferPointer { b in
            XCTAssertEqual(b.firstIndex(of: 0x0A, or: 0x0D, from: 3), 3)
            XCTAssertEqual(b.firstIndex(of: 0x0A, or: 0x0D, from: 9), 9)
        }
        [UInt8]().withUnsafeBufferPointer { XCTAssertEqual($0.firstIndex(of: 0x0A, or: 0x0D, from: 0), 0) }
    }
}

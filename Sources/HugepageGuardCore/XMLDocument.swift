import CExpatXML

/// Why the XML reader refused a document. The limits and refusals are listed in one place,
/// Sources/CExpatXML/include/hg_xml.h.
struct XMLReadError: Error, Equatable {
    enum Kind: Equatable {
        /// Not well-formed XML, or not UTF-8.
        case malformed
        /// Well-formed, but a construct libvirt never writes in domain XML (DOCTYPE, entities).
        case forbidden
        /// Past one of the reader's limits.
        case limit
        /// Larger than `XMLDocument.maxInputBytes`.
        case tooLarge
        /// The machine ran out of memory (not a limit of ours).
        case noMemory
    }
    var kind: Kind
    /// 1-based; 0 when the problem has no place in the document.
    var line: Int
    /// What was wrong, never quoting the document.
    var message: String
}

/// A whole XML document, parsed once by expat into a read-only tree (Sources/CExpatXML).
/// Elements keep their document alive; nothing is parsed lazily.
final class XMLDocument {
    /// The largest document read; anything larger is refused before it is parsed.
    static let maxInputBytes = Int(HG_XML_MAX_INPUT_BYTES)

    private let tree: UnsafeMutablePointer<hg_xml_doc>

    init(bytes: UnsafeRawBufferPointer) throws(XMLReadError) {
        if bytes.count > Self.maxInputBytes {
            throw XMLReadError(kind: .tooLarge, line: 0,
                               message: "\(bytes.count) bytes, more than the \(Self.maxInputBytes >> 20) MiB limit")
        }
        var error = hg_xml_error()
        guard let tree = hg_xml_parse(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, &error) else {
            let message = withUnsafeBytes(of: error.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            let kind: XMLReadError.Kind
            switch error.status {
            case HG_XML_FORBIDDEN: kind = .forbidden
            case HG_XML_LIMIT: kind = .limit
            case HG_XML_TOO_LARGE: kind = .tooLarge
            case HG_XML_NO_MEMORY: kind = .noMemory
            default: kind = .malformed
            }
            throw XMLReadError(kind: kind, line: Int(clamping: error.line), message: message)
        }
        self.tree = tree
    }

    /// Parses `text`'s UTF-8 without copying it.
    static func parse(_ text: String) throws(XMLReadError) -> XMLDocument {
        var text = text
        return try text.withUTF8 { utf8 in
            Result { () throws(XMLReadError) in try XMLDocument(bytes: UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Parses raw bytes: invalid UTF-8 is refused, not replaced.
    static func parse(_ bytes: [UInt8]) throws(XMLReadError) -> XMLDocument {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(XMLReadError) in try XMLDocument(bytes: raw) }
        }.get()
    }

    deinit { hg_xml_free(tree) }

    var root: XMLElement { XMLElement(document: self, index: 0) }

    fileprivate func element(_ index: UInt32) -> hg_xml_element { tree.pointee.elements[Int(index)] }
    fileprivate func attribute(_ index: UInt32) -> hg_xml_attribute { tree.pointee.attributes[Int(index)] }
    fileprivate func string(_ offset: UInt32) -> String { String(cString: tree.pointee.strings + Int(offset)) }

    /// Whether the NUL-terminated string at `offset` is `name`'s UTF-8, without allocating.
    fileprivate func string(_ offset: UInt32, equals name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            let s = UnsafeRawPointer(tree.pointee.strings + Int(offset)).assumingMemoryBound(to: UInt8.self)
            for i in 0..<utf8.count where s[i] != utf8[i] { return false }  // s[i] == 0 stops a longer name
            return s[utf8.count] == 0
        }
    }

    fileprivate func text(_ start: UInt32, _ end: UInt32) -> String {
        guard end > start, let base = tree.pointee.text else { return "" }
        let bytes = UnsafeRawBufferPointer(start: base + Int(start), count: Int(end - start))
        return String(decoding: bytes, as: UTF8.self)  // already checked to be UTF-8
    }
}

/// One element of an `XMLDocument`.
struct XMLElement {
    let document: XMLDocument
    let index: UInt32

    private var raw: hg_xml_element { document.element(index) }

    /// The local name, without a prefix.
    var name: String { document.string(raw.name) }
    /// The namespace URI, or nil for an element in no namespace.
    var namespace: String? {
        let ns = raw.ns
        return ns == HG_XML_NONE ? nil : document.string(ns)
    }

    /// Child elements in document order.
    var elements: [XMLElement] {
        var out: [XMLElement] = []
        var next = raw.first_child
        while next != HG_XML_NONE {
            out.append(XMLElement(document: document, index: next))
            next = document.element(next).next_sibling
        }
        return out
    }

    /// Child elements with this local name, whatever their namespace.
    func children(_ name: String) -> [XMLElement] {
        var out: [XMLElement] = []
        var next = raw.first_child
        while next != HG_XML_NONE {
            let e = document.element(next)
            if document.string(e.name, equals: name) { out.append(XMLElement(document: document, index: next)) }
            next = e.next_sibling
        }
        return out
    }

    /// The first child element with this local name, whatever its namespace.
    func child(_ name: String) -> XMLElement? {
        var next = raw.first_child
        while next != HG_XML_NONE {
            let e = document.element(next)
            if document.string(e.name, equals: name) { return XMLElement(document: document, index: next) }
            next = e.next_sibling
        }
        return nil
    }

    /// The value of the first attribute with this local name, whatever its namespace: what
    /// libvirt reads (virXMLPropString is libxml2's xmlGetProp, which ignores namespaces).
    subscript(attribute: String) -> String? {
        let e = raw
        for i in 0..<e.attribute_count {
            let a = document.attribute(e.first_attribute + i)
            if document.string(a.name, equals: attribute) { return document.string(a.value) }
        }
        return nil
    }

    /// All text inside the element, its descendants' included, in document order, with
    /// character and predefined entity references expanded: what libvirt reads
    /// (xmlNodeGetContent, XPath's string()).
    var text: String {
        let e = raw
        return document.text(e.text_start, e.text_end)
    }
}

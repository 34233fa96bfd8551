import CLibXML2

/// Why a domain XML could not be read. Each case names the element and what was wrong.
public enum DomainXMLError: Error, Equatable, CustomStringConvertible {
    case parserUnavailable(String)
    case malformed(line: Int, message: String)
    case notADomain(root: String)
    case missing(element: String)
    case invalid(element: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .parserUnavailable(why): return "cannot load libxml2 to read the domain XML: \(why)"
        case let .malformed(line, message): return "domain XML is not well-formed (line \(line)): \(message)"
        case let .notADomain(root): return "expected a <domain> document, found <\(root)>"
        case let .missing(element): return "domain XML has no \(element)"
        case let .invalid(element, value, reason): return "domain XML \(element) has '\(value)': \(reason)"
        }
    }
}

extension DomainSpec {
    /// Parses a libvirt domain XML document with libxml2. Nothing of libxml2 outlives the call.
    public init(xml: String) throws(DomainXMLError) {
        let bytes = Array(xml.utf8)
        if bytes.isEmpty { throw .malformed(line: 0, message: "the document is empty") }
        var line: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let doc = bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                hg_xml_parse($0, Int32(buf.count), &line, &message, message.count)
            }
        }
        guard let doc else {
            let text = String(cString: message).trimmingCharacters(in: " \n")
            if line < 0 { throw .parserUnavailable(text) }
            throw .malformed(line: Int(line), message: text)
        }
        defer { hg_xml_free_doc(doc) }
        guard let root = hg_xml_root(doc).map(XMLElement.init) else {
            throw .malformed(line: 0, message: "no root element")
        }
        try self.init(root: root)
    }

    private init(root: XMLElement) throws(DomainXMLError) {
        guard root.name == "domain" else { throw .notADomain(root: root.name) }
        guard let name = root.child("name")?.text, !name.isEmpty else {
            throw .missing(element: "<name>")
        }
        guard let memory = root.child("memory") else { throw .missing(element: "<memory>") }
        let memoryKiB = try memory.size(element: "<memory>")

        var hugepages: [HugepageRequest]?
        var memfd = false
        if let backing = root.child("memoryBacking") {
            if let hp = backing.child("hugepages") {
                var pages: [HugepageRequest] = []
                for page in hp.children("page") {
                    guard let sizeText = page["size"] else { throw .missing(element: "<hugepages><page size=...>") }
                    let size = try parseSize(sizeText, unit: page["unit"], element: "<hugepages><page size>")
                    var cells: NodeSet?
                    if let ns = page["nodeset"] {
                        guard let parsed = NodeSet.parse(ns) else {
                            throw .invalid(element: "<hugepages><page nodeset>", value: ns, reason: "not a node set like 0-2,4")
                        }
                        cells = parsed
                    }
                    pages.append(HugepageRequest(sizeKiB: size, guestCells: cells))
                }
                hugepages = pages.isEmpty ? [HugepageRequest(sizeKiB: nil)] : pages
            }
            memfd = backing.child("source")?["type"] == "memfd"
        }

        var cells: [GuestCell] = []
        if let numa = root.child("cpu")?.child("numa") {
            for (index, cell) in numa.children("cell").enumerated() {
                let id: Int
                if let idText = cell["id"] {
                    guard let v = Int(idText), v >= 0 else {
                        throw .invalid(element: "<numa><cell id>", value: idText, reason: "not a cell number")
                    }
                    id = v
                } else {
                    id = index
                }
                guard let memText = cell["memory"] else { throw .missing(element: "<numa><cell memory=...>") }
                cells.append(GuestCell(id: id, memoryKiB: try parseSize(memText, unit: cell["unit"], element: "<numa><cell memory>")))
            }
        }

        var numatune = Numatune()
        if let nt = root.child("numatune") {
            if let mem = nt.child("memory") {
                let mode = try parseMode(mem["mode"], element: "<numatune><memory mode>")
                var nodeset: NodeSet?
                if let text = mem["nodeset"] {
                    guard let parsed = NodeSet.parse(text) else {
                        throw .invalid(element: "<numatune><memory nodeset>", value: text, reason: "not a node set like 0-2,4")
                    }
                    nodeset = parsed
                }
                numatune.memory = NumaTuneEntry(mode: mode, nodeset: mem["placement"] == "auto" ? nil : nodeset)
            }
            for node in nt.children("memnode") {
                guard let idText = node["cellid"], let id = Int(idText), id >= 0 else {
                    throw .invalid(element: "<numatune><memnode cellid>", value: node["cellid"] ?? "", reason: "not a cell number")
                }
                let mode = try parseMode(node["mode"], element: "<numatune><memnode mode>")
                guard let text = node["nodeset"], let nodeset = NodeSet.parse(text) else {
                    throw .invalid(element: "<numatune><memnode nodeset>", value: node["nodeset"] ?? "", reason: "not a node set like 0-2,4")
                }
                numatune.memnodes[id] = NumaTuneEntry(mode: mode, nodeset: nodeset)
            }
        }

        var devices: [MemoryDevice] = []
        for dev in root.child("devices")?.children("memory") ?? [] {
            guard let modelText = dev["model"], let model = MemoryDeviceModel(rawValue: modelText) else {
                throw .invalid(element: "<devices><memory model>", value: dev["model"] ?? "", reason: "unknown memory device model")
            }
            guard let target = dev.child("target"), let sizeEl = target.child("size") else {
                throw .missing(element: "<devices><memory><target><size>")
            }
            var device = MemoryDevice(model: model, alias: dev.child("alias")?["name"],
                                      sizeKiB: try sizeEl.size(element: "<memory><target><size>"))
            device.requestedKiB = try target.child("requested")?.size(element: "<memory><target><requested>")
            if let nodeText = target.child("node")?.text.trimmingCharacters(in: " \t\n") {
                guard let n = Int(nodeText), n >= 0 else {
                    throw .invalid(element: "<memory><target><node>", value: nodeText, reason: "not a guest cell number")
                }
                device.targetNode = n
            }
            if let source = dev.child("source") {
                device.pageSizeKiB = try source.child("pagesize")?.size(element: "<memory><source><pagesize>")
                if let maskText = source.child("nodemask")?.text.trimmingCharacters(in: " \t\n") {
                    guard let mask = NodeSet.parse(maskText) else {
                        throw .invalid(element: "<memory><source><nodemask>", value: maskText, reason: "not a node set like 0-2,4")
                    }
                    device.sourceNodes = mask
                }
            }
            devices.append(device)
        }

        var policy: Policy?
        var grow: Bool?
        for el in root.child("metadata")?.elements ?? [] where el.name == "guard" && el.namespace == metadataNamespace {
            if el["policy"] != nil || el["grow"] == nil {
                guard let text = el["policy"], let p = Policy(rawValue: text) else {
                    throw .invalid(element: "<metadata><guard policy>", value: el["policy"] ?? "",
                                   reason: "must be one of enforce, warn, off")
                }
                policy = p
            }
            if let text = el["grow"] {
                guard text == "on" || text == "off" else {
                    throw .invalid(element: "<metadata><guard grow>", value: text, reason: "must be on or off")
                }
                grow = text == "on"
            }
        }

        self.init(name: name, uuid: root.child("uuid")?.text.trimmingCharacters(in: " \t\n"),
                  memoryKiB: memoryKiB, hugepages: hugepages, memfdSource: memfd, cells: cells,
                  numatune: numatune, memoryDevices: devices, policyOverride: policy)
        self.growOverride = grow
    }
}

private func parseSize(_ text: String, unit: String?, element: String) throws(DomainXMLError) -> UInt64 {
    let trimmed = text.trimmingCharacters(in: " \t\n")
    guard let value = UInt64(trimmed) else {
        throw .invalid(element: element, value: text, reason: "not a whole number")
    }
    guard let kib = SizeUnit.kibibytes(value: value, unit: unit) else {
        throw .invalid(element: element, value: "\(text) \(unit ?? "")",
                       reason: "unknown unit or too large (units: b, KiB, KB, MiB, MB, GiB, GB, TiB, TB)")
    }
    return kib
}

private func parseMode(_ text: String?, element: String) throws(DomainXMLError) -> NumaMode {
    guard let text else { return .strict }  // libvirt's default mode
    guard let mode = NumaMode(rawValue: text) else {
        throw .invalid(element: element, value: text, reason: "must be strict, preferred, interleave or restrictive")
    }
    return mode
}

/// A borrowed libxml2 element, valid only while its document lives.
private struct XMLElement {
    let node: OpaquePointer

    var name: String { String(cString: hg_xml_name(node)) }
    var namespace: String? { hg_xml_namespace(node).map { String(cString: $0) } }

    var elements: [XMLElement] {
        var out: [XMLElement] = []
        var cur = hg_xml_first_element(node)
        while let c = cur {
            out.append(XMLElement(node: c))
            cur = hg_xml_next_element(c)
        }
        return out
    }

    func children(_ name: String) -> [XMLElement] { elements.filter { $0.name == name } }
    func child(_ name: String) -> XMLElement? { elements.first { $0.name == name } }

    subscript(attribute: String) -> String? {
        guard let value = hg_xml_attribute(node, attribute) else { return nil }
        defer { hg_xml_free(value) }
        return String(cString: value)
    }

    var text: String {
        guard let content = hg_xml_content(node) else { return "" }
        defer { hg_xml_free(content) }
        return String(cString: content)
    }

    /// An element like `<memory unit='MiB'>512</memory>`, in KiB.
    func size(element: String) throws(DomainXMLError) -> UInt64 {
        try parseSize(text, unit: self["unit"], element: element)
    }
}

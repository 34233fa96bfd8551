/// Why a domain XML could not be read. Each case names the element and what was wrong.
public enum DomainXMLError: Error, Equatable, CustomStringConvertible {
    case malformed(line: Int, message: String)
    /// Well-formed, but holding what libvirt never writes in domain XML: a DOCTYPE, an entity.
    case forbidden(line: Int, message: String)
    /// Past one of the XML reader's limits (Sources/CExpatXML/include/hg_xml.h).
    case overLimit(line: Int, message: String)
    case tooLarge(bytes: Int, limit: Int)
    case outOfMemory
    case notADomain(root: String)
    case missing(element: String)
    case invalid(element: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(line, message): return "domain XML is not well-formed (line \(line)): \(message)"
        case let .forbidden(line, message): return "domain XML line \(line) has \(message)"
        case let .overLimit(line, message):
            return "domain XML goes past a limit at line \(line): \(message) (no libvirt domain comes near it)"
        case let .tooLarge(bytes, limit):
            return "domain XML is \(bytes) bytes, more than the \(limit >> 20) MiB hugepage-guard reads"
        case .outOfMemory: return "out of memory reading the domain XML"
        case let .notADomain(root): return "expected a <domain> document, found <\(root)>"
        case let .missing(element): return "domain XML has no \(element)"
        case let .invalid(element, value, reason): return "domain XML \(element) has '\(value)': \(reason)"
        }
    }

    init(_ error: XMLReadError, size: Int) {
        switch error.kind {
        case .malformed: self = .malformed(line: error.line, message: error.message)
        case .forbidden: self = .forbidden(line: error.line, message: error.message)
        case .limit: self = .overLimit(line: error.line, message: error.message)
        case .tooLarge: self = .tooLarge(bytes: size, limit: XMLDocument.maxInputBytes)
        case .noMemory: self = .outOfMemory
        }
    }
}

extension DomainSpec {
    /// Parses a libvirt domain XML document. What the reader refuses (a DOCTYPE, entities,
    /// more than 16 MiB, ...) is listed in Sources/CExpatXML/include/hg_xml.h.
    public init(xml: String) throws(DomainXMLError) {
        let size = xml.utf8.count
        if size == 0 { throw .malformed(line: 0, message: "the document is empty") }
        if size > XMLDocument.maxInputBytes { throw .tooLarge(bytes: size, limit: XMLDocument.maxInputBytes) }
        let document: XMLDocument
        do { document = try XMLDocument.parse(xml) } catch { throw DomainXMLError(error, size: size) }
        try self.init(root: document.root)
    }

    /// The same, from the bytes as read: bytes that are not UTF-8 are refused, where a
    /// `String` would already have replaced them.
    public init(xml bytes: [UInt8]) throws(DomainXMLError) {
        if bytes.isEmpty { throw .malformed(line: 0, message: "the document is empty") }
        if bytes.count > XMLDocument.maxInputBytes { throw .tooLarge(bytes: bytes.count, limit: XMLDocument.maxInputBytes) }
        let document: XMLDocument
        do { document = try XMLDocument.parse(bytes) } catch { throw DomainXMLError(error, size: bytes.count) }
        try self.init(root: document.root)
    }

    private init(root: XMLElement) throws(DomainXMLError) {
        guard root.name == "domain" else { throw .notADomain(root: root.name) }
        guard let name = root.child("name")?.text.trimmingCharacters(in: " \t\n"), !name.isEmpty else {
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
        for el in root.child("metadata")?.elements ?? [] where el.name == "guard" && el.namespace == metadataNamespace {
            guard let text = el["policy"], let p = Policy(rawValue: text) else {
                throw .invalid(element: "<metadata><guard policy>", value: el["policy"] ?? "",
                               reason: "must be one of enforce, warn, off")
            }
            policy = p
        }

        self.init(name: name, uuid: root.child("uuid")?.text.trimmingCharacters(in: " \t\n"),
                  memoryKiB: memoryKiB, hugepages: hugepages, memfdSource: memfd, cells: cells,
                  numatune: numatune, memoryDevices: devices, policyOverride: policy)
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

extension XMLElement {
    /// An element like `<memory unit='MiB'>512</memory>`, in KiB.
    func size(element: String) throws(DomainXMLError) -> UInt64 {
        try parseSize(text, unit: self["unit"], element: element)
    }
}

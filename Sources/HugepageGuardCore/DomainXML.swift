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
        guard let name = root.child("name")?.text, !name.isEmpty else {
            throw .missing(element: "<name>")
        }
        guard let memory = root.child("memory") else { throw .missing(element: "<memory>") }
        let memoryKiB = try parseSize(memory.text, unit: memory["unit"], element: "<memory>")
        var backing = try MemoryBackingSection(root.child("memoryBacking"))
        let numa = try NumaSection(root.child("cpu")?.child("numa"))
        let devices = try MemoryDevicesSection(root.child("devices"))
        let guardElement = try parseGuardMetadata(root.child("metadata"))

        self.init(name: name, uuid: root.child("uuid")?.text.trimmingCharacters(in: " \t\n"),
                  memoryKiB: memoryKiB, hugepages: backing.hugepages.take(), memfdSource: backing.source == "memfd",
                  cells: numa.cells, numatune: try parseNumatune(root.child("numatune")),
                  memoryDevices: devices.memory, policyOverride: guardElement.policy)
        growOverride = guardElement.grow
        fileSource = backing.source == "file"
        memoryAccess = backing.access
        numaInterconnects = numa.interconnects
        virtType = root["type"]
        machine = root.child("os")?.child("type")?["machine"]
        emulator = devices.emulator
    }
}

/// The largest size libvirt accepts for any memory element (`virDomainParseMemory`): below
/// 2^63 bytes, in KiB. Sums of such sizes are checked against it too, so no sum the demand
/// builds from them can overflow.
let maximumMemoryKiB: UInt64 = UInt64(Int64.max) / 1024

/// `<memoryBacking>`: hugepages, source type and access mode.
private struct MemoryBackingSection {
    var hugepages: [HugepageRequest]?
    var source: String?
    var access: String?

    init(_ backing: XMLElement?) throws(DomainXMLError) {
        guard let backing else { return }
        if let hp = backing.child("hugepages") {
            var pages: [HugepageRequest] = []
            for page in hp.children("page") {
                guard let sizeText = page["size"] else { throw .missing(element: "<hugepages><page size=...>") }
                let size = try parseSize(sizeText, unit: page["unit"], element: "<hugepages><page size>")
                let cells = try page["nodeset"].map { (text) throws(DomainXMLError) in
                    try parseNodeSet(text, element: "<hugepages><page nodeset>")
                }
                pages.append(HugepageRequest(sizeKiB: size, guestCells: cells))
            }
            hugepages = pages.isEmpty ? [HugepageRequest(sizeKiB: nil)] : pages
        }
        source = backing.child("source")?["type"]
        access = accessMode(backing.child("access")?["mode"])
    }
}

/// `<cpu><numa>`: the guest cells and whether HMAT is described.
private struct NumaSection {
    var cells: [GuestCell] = []
    var interconnects = false

    init(_ numa: XMLElement?) throws(DomainXMLError) {
        guard let numa else { return }
        var total: UInt64 = 0
        for (index, cell) in numa.children("cell").enumerated() {
            let id = try cell["id"].map { (text) throws(DomainXMLError) in
                try parseIndex(text, element: "<numa><cell id>", reason: "not a cell number")
            } ?? index
            guard let memText = cell["memory"] else { throw .missing(element: "<numa><cell memory=...>") }
            let kib = try parseSize(memText, unit: cell["unit"], element: "<numa><cell memory>")
            total = try checkedSum(total, kib, element: "<numa><cell memory>", value: memText)
            cells.append(GuestCell(id: id, memoryKiB: kib, memoryAccess: accessMode(cell["memAccess"]),
                                   hasCache: cell.child("cache") != nil))
        }
        interconnects = numa.child("interconnects") != nil
    }
}

/// `<devices>`: the memory devices and the emulator binary.
private struct MemoryDevicesSection {
    var memory: [MemoryDevice] = []
    var emulator: String?

    init(_ devices: XMLElement?) throws(DomainXMLError) {
        guard let devices else { return }
        emulator = devices.child("emulator")?.text.trimmingCharacters(in: " \t\n")
        var total: UInt64 = 0
        for dev in devices.children("memory") {
            let device = try parseMemoryDevice(dev)
            total = try checkedSum(total, device.sizeKiB, element: "<devices><memory><target><size>",
                                   value: String(device.sizeKiB) + " KiB")
            memory.append(device)
        }
    }
}

private func parseMemoryDevice(_ dev: XMLElement) throws(DomainXMLError) -> MemoryDevice {
    guard let modelText = dev["model"], let model = MemoryDeviceModel(rawValue: modelText) else {
        throw .invalid(element: "<devices><memory model>", value: dev["model"] ?? "", reason: "unknown memory device model")
    }
    guard let target = dev.child("target"), let sizeEl = target.child("size") else {
        throw .missing(element: "<devices><memory><target><size>")
    }
    var device = MemoryDevice(model: model, alias: dev.child("alias")?["name"],
                              sizeKiB: try parseSize(sizeEl.text, unit: sizeEl["unit"], element: "<memory><target><size>"))
    if let requested = target.child("requested") {
        let kib = try parseSize(requested.text, unit: requested["unit"], element: "<memory><target><requested>",
                                allowZero: true)
        // libvirt's virDomainMemoryDefValidate: requested may not exceed the device's size.
        guard kib <= device.sizeKiB else {
            throw .invalid(element: "<memory><target><requested>", value: requested.text,
                           reason: "larger than the device's <size> (\(device.sizeKiB) KiB); libvirt refuses it")
        }
        device.requestedKiB = kib
    }
    if let nodeText = target.child("node")?.text {
        device.targetNode = try parseIndex(nodeText, element: "<memory><target><node>", reason: "not a guest cell number")
    }
    if let source = dev.child("source") {
        if let pagesize = source.child("pagesize") {
            device.pageSizeKiB = try parseSize(pagesize.text, unit: pagesize["unit"], element: "<memory><source><pagesize>")
        }
        if let maskText = source.child("nodemask")?.text {
            device.sourceNodes = try parseNodeSet(maskText, element: "<memory><source><nodemask>")
        }
    }
    device.access = accessMode(dev["access"])
    if let address = dev.child("address"), address["type"] == "dimm", let slotText = address["slot"] {
        device.slot = try parseIndex(slotText, element: "<memory><address slot>", reason: "not a slot number")
    }
    return device
}

/// `<numatune>`: the domain-wide `<memory>` and the per-cell `<memnode>`s.
private func parseNumatune(_ nt: XMLElement?) throws(DomainXMLError) -> Numatune {
    var numatune = Numatune()
    guard let nt else { return numatune }
    if let mem = nt.child("memory") {
        let mode = try parseMode(mem["mode"], element: "<numatune><memory mode>")
        let nodeset = try mem["nodeset"].map { (text) throws(DomainXMLError) in
            try parseNodeSet(text, element: "<numatune><memory nodeset>")
        }
        numatune.memory = NumaTuneEntry(mode: mode, nodeset: mem["placement"] == "auto" ? nil : nodeset)
    }
    for node in nt.children("memnode") {
        let id = try parseIndex(node["cellid"] ?? "", element: "<numatune><memnode cellid>", reason: "not a cell number")
        let mode = try parseMode(node["mode"], element: "<numatune><memnode mode>")
        let nodeset = try parseNodeSet(node["nodeset"] ?? "", element: "<numatune><memnode nodeset>")
        numatune.memnodes[id] = NumaTuneEntry(mode: mode, nodeset: nodeset)
    }
    return numatune
}

/// Our `<metadata><guard policy grow>`, in our namespace: the domain's own policy, and
/// `grow="on|off"` (whether the pool may grow for it). An element with only `grow` leaves
/// the policy to the host.
private func parseGuardMetadata(_ metadata: XMLElement?) throws(DomainXMLError) -> (policy: Policy?, grow: Bool?) {
    var policy: Policy?
    var grow: Bool?
    for el in metadata?.elements ?? [] where el.name == "guard" && el.namespace == metadataNamespace {
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
    return (policy, grow)
}

/// A memory access mode; libvirt's `default` is the same as none.
private func accessMode(_ text: String?) -> String? { text == "default" ? nil : text }

/// A node set in libvirt's syntax (`0-2,^1,4`), for every element that holds one.
private func parseNodeSet(_ text: String, element: String) throws(DomainXMLError) -> NodeSet {
    guard let set = NodeSet.parse(text.trimmingCharacters(in: " \t\n")) else {
        throw .invalid(element: element, value: text, reason: "not a node set like 0-2,4")
    }
    return set
}

/// A cell, node or slot number: plain decimal digits.
private func parseIndex(_ text: String, element: String, reason: String) throws(DomainXMLError) -> Int {
    let trimmed = text.trimmingCharacters(in: " \t\n")
    guard trimmed.isASCIIDigits, let v = Int(trimmed), v < 1 << 20 else {
        throw .invalid(element: element, value: text, reason: reason)
    }
    return v
}

private func checkedSum(_ a: UInt64, _ b: UInt64, element: String, value: String) throws(DomainXMLError) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    guard !overflow, sum <= maximumMemoryKiB else {
        throw .invalid(element: element, value: value,
                       reason: "the sizes of all such elements add up to more than libvirt's limit of 8 EiB")
    }
    return sum
}

/// A memory size as libvirt reads it (`virDomainParseMemory`): unsigned decimal digits, a unit,
/// rounded up to KiB, below 2^63 bytes. libvirt refuses zero for `<memory>`, cell and page
/// sizes; `allowZero` is for `<requested>`, which may be 0.
private func parseSize(_ text: String, unit: String?, element: String, allowZero: Bool = false) throws(DomainXMLError) -> UInt64 {
    let trimmed = text.trimmingCharacters(in: " \t\n")
    guard trimmed.isASCIIDigits, let value = UInt64(trimmed) else {
        throw .invalid(element: element, value: text, reason: "not a whole number of plain digits")
    }
    guard let kib = SizeUnit.kibibytes(value: value, unit: unit), kib <= maximumMemoryKiB,
          value.multipliedReportingOverflow(by: SizeUnit.bytes(per: unit ?? "KiB") ?? 1).overflow == false else {
        throw .invalid(element: element, value: "\(text) \(unit ?? "")",
                       reason: "unknown unit or too large (units: b, KiB, KB, MiB, MB, GiB, GB, TiB, TB; at most 8 EiB)")
    }
    if kib == 0 && !allowZero {
        throw .invalid(element: element, value: text, reason: "a size of zero; libvirt refuses it")
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

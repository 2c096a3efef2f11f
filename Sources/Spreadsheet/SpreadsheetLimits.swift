/// The bounds a workbook must fit before it is read. An XLSX is a zip: a small upload can unpack
/// to gigabytes of XML, or to a million rows of nothing, and each costs CPU and memory on the
/// server. These refuse such a file at once (`SpreadsheetError.tooLarge`) instead of working through it.
public struct SpreadsheetLimits: Sendable, Equatable {
    /// The worksheet's XML once unpacked.
    public var maxSheetBytes: UInt64 = 512 << 20
    /// Unpacked size over packed size, for a part bigger than `ratioFloor` once unpacked. Sheets
    /// saved by Excel and WPS unpack 5 to 30 times; a sheet of empty rows, a thousand times.
    public var maxRatio: UInt64 = 100
    public var ratioFloor: UInt64 = 4 << 20
    /// `<row>` elements, blank ones included, and the highest row number: a sheet in Excel holds 1,048,576.
    public var maxRows = 1_048_576
    /// Cells past this column are dropped (the gaps before a far cell are filled with empty cells,
    /// so one cell in column XFD would make 16,384 of them on every row).
    public var maxColumns = 16_384
    /// Shared strings are held in memory for the whole read: how many, and their UTF-8 in total.
    public var maxSharedStrings = 2_000_000
    public var maxSharedStringBytes = 128 << 20
    /// UTF-8 bytes of one cell's text: Excel's own limit is 32,767 characters.
    public var maxCellBytes = 32_767 * 4

    public init() {}

    /// What an upload to the server is held to: columns beyond any import's own.
    public static let upload: SpreadsheetLimits = {
        var limits = SpreadsheetLimits()
        limits.maxColumns = 256
        return limits
    }()

    /// Refuses an entry whose declared size, or packing ratio, is beyond the bounds.
    func check(_ entry: ZipEntryInfo, max: UInt64) throws {
        if entry.uncompressedSize > max {
            throw SpreadsheetError(.tooLarge, "\(entry.path) unpacks to \(entry.uncompressedSize >> 20) MiB, more than \(max >> 20) MiB.")
        }
        if entry.uncompressedSize > ratioFloor, entry.uncompressedSize / Swift.max(1, entry.compressedSize) > maxRatio {
            throw SpreadsheetError(.tooLarge, "\(entry.path) unpacks to more than \(maxRatio) times its size.")
        }
    }
}

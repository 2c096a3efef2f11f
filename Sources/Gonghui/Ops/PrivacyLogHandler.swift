import Logging

/// Wraps the process's log handler so query values never reach a log line at any level.
/// FluentKit logs every query with its values at debug level ("Running query", "Executing
/// query"); those values are names, phone numbers and, later, ID numbers. The message and the
/// SQL text stay, so a developer at debug level still sees what ran.
public struct PrivacyLogHandler: LogHandler {
    static let redactedKeys: Set<String> = ["input", "binds", "filters"]

    var inner: any LogHandler

    public init(_ inner: any LogHandler) { self.inner = inner }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var cleaned = metadata
        if var values = metadata {
            for key in Self.redactedKeys where values[key] != nil { values[key] = "[redacted]" }
            cleaned = values
        }
        inner.log(level: level, message: message, metadata: cleaned, source: source, file: file, function: function, line: line)
    }
}

import AsyncKit
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import SQLiteNIO
import Vapor

/// Errors that mean "the database is not there right now", not "this request is wrong": a refused
/// or dropped connection, a pool with no free connection in time, PostgreSQL shutting down or
/// read-only, SQLite locked past its busy timeout. They answer 503 with `Retry-After`, never 500.
enum DatabaseOutage {
    /// Seconds a client should wait before it tries again.
    static let retryAfterSeconds = 5

    static func isOutage(_ error: any Error) -> Bool {
        switch error {
        case is ConnectionPoolTimeoutError, is ConnectionPoolError, is NIOConnectionError, is ChannelError:
            return true
        case let error as IOError:
            return [ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode)
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                // 08: connection exception; 57: operator intervention (shutdown, cannot connect now);
                // 53: insufficient resources (too many connections, disk full); 25006: read-only.
                return state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") || state == "25006"
            default:
                return error.underlying.map(isOutage) ?? false
            }
        case let error as SQLiteError:
            switch error.reason {
            case .busy, .locked, .busyTimeout, .busyInRecovery, .busyInSnapshot, .lockedBySharedCache, .readOnly,
                 .readonlyCantLock, .readonlyInRecovery, .full, .ioError, .ioErrorFailedWrite, .ioErrorFailedSync:
                return true
            default:
                return false
            }
        default:
            return false
        }
    }

    static var appError: AppError {
        AppError(.serviceUnavailable, "error.tryAgain", args: ["seconds": String(retryAfterSeconds)])
    }
}

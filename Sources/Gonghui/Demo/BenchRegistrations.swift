import Foundation
import Vapor

struct BenchRegistrationsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Prepares the contest-registration benchmark." }
    func run(using context: CommandContext, signature: Signature) async throws {}
}

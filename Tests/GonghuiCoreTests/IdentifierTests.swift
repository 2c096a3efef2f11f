import Testing
@testable import GonghuiCore

@Suite struct CreditCodeTests {
    @Test func acceptsTheStandardsExample() throws {
        let code = try CreditCode(parsing: "91350100M000100Y43")
        #expect(code.value == "91350100M000100Y43")
        #expect(code.checksumValid)
    }

    @Test func normalisesFullWidthLowerCaseAndSpaces() throws {
        let code = try CreditCode(parsing: " ９１３５０１００m０００１００y４３ ")
        #expect(code.value == "91350100M000100Y43")
        #expect(code.checksumValid)
    }

    @Test func keepsAChecksumFailureAsAWarning() throws {
        let code = try CreditCode(parsing: "91350100M000100Y44")
        #expect(!code.checksumValid)
    }

    @Test func rejectsWrongLengthAndLettersOutsideTheAlphabet() {
        #expect(throws: CreditCode.FormatError.length(17)) { try CreditCode(parsing: "91350100M000100Y4") }
        #expect(throws: CreditCode.FormatError.character("I", position: 9)) {
            try CreditCode(parsing: "91350100I000100Y43")
        }
    }

    @Test func computesCheckCharacters() {
        #expect(CreditCode.checkCharacter(for: "91350100M000100Y4") == "3")
        #expect(CreditCode.checkCharacter(for: "short") == nil)
    }
}

@Suite struct DivisionCodeTests {
    @Test func acceptsDistrictAndStreetCodes() throws {
        #expect(try DivisionCode(parsing: "110105").value == "110105")
        #expect(try DivisionCode(parsing: "110105001").province == "11")
    }

    @Test func rejectsOtherShapes() {
        for bad in ["11010", "1101051", "11010A", "000000", ""] {
            #expect(throws: DivisionCode.FormatError.format) { try DivisionCode(parsing: bad) }
        }
    }
}

@Suite struct CalendarDateTests {
    @Test func parsesTheShapesStaffType() throws {
        #expect(try CalendarDate(parsing: "2024-03-15").description == "2024-03-15")
        #expect(try CalendarDate(parsing: "2024/3/5").description == "2024-03-05")
        #expect(try CalendarDate(parsing: "２０２４.３.５").description == "2024-03-05")
    }

    @Test func rejectsDaysThatDoNotExist() throws {
        #expect(throws: CalendarDate.FormatError.noSuchDay) { try CalendarDate(parsing: "2023-02-29") }
        #expect(throws: CalendarDate.FormatError.format) { try CalendarDate(parsing: "15/03/2024") }
        #expect(throws: CalendarDate.FormatError.format) { try CalendarDate(parsing: "yesterday") }
        #expect(try CalendarDate(parsing: "2024-02-29").day == 29)
        // the shape a roster holds, read without normalising, is checked as strictly as the rest
        #expect(throws: CalendarDate.FormatError.noSuchDay) { try CalendarDate(parsing: "2024-13-01") }
        #expect(throws: CalendarDate.FormatError.noSuchDay) { try CalendarDate(parsing: "2024-00-10") }
        #expect(throws: CalendarDate.FormatError.noSuchDay) { try CalendarDate(parsing: "0000-01-01") }
        #expect(throws: CalendarDate.FormatError.format) { try CalendarDate(parsing: "2024-1a-01") }
        #expect(throws: CalendarDate.FormatError.format) { try CalendarDate(parsing: "2024-3-015") }
        #expect(try CalendarDate(parsing: "2024-3-15 ").description == "2024-03-15")
    }

    @Test func ordersByDay() throws {
        #expect(try CalendarDate(parsing: "2024-01-31") < CalendarDate(parsing: "2024-02-01"))
    }
}

@Suite struct PhoneTests {
    @Test func acceptsMobileNumbersWithCountryCode() throws {
        #expect(try PhoneNumber(parsing: "+86 138-0013-8000").value == "13800138000")
        #expect(try PhoneNumber(parsing: "8613800138000").value == "13800138000")
        #expect(try PhoneNumber(parsing: "13800138000").masked == "138****8000")
        #expect(try PhoneNumber(parsing: "1380013800１").value == "13800138001")
    }

    @Test func rejectsOtherNumbers() {
        for bad in ["23800138000", "1380013800", "abc", "1380013800a", "138001380000"] {
            #expect(throws: PhoneNumber.FormatError.format) { try PhoneNumber(parsing: bad) }
        }
    }

    @Test func contactPhonesMayBeLandlines() {
        #expect(ContactPhone.normalise("010-65123456") == "010-65123456")
        #expect(ContactPhone.normalise("１３８００１３８０００") == "13800138000")
        #expect(ContactPhone.normalise("call me") == nil)
    }
}

@Suite struct NormalizeTests {
    @Test func foldsSpacesInNames() {
        #expect(Normalize.singleLine("  北京　 朝阳区\t工会 ") == "北京 朝阳区 工会")
    }
}

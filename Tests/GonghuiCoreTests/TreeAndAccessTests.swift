import Testing
@testable import GonghuiCore

@Suite struct OrgKindTests {
    @Test func followsTheThreeTiers() {
        #expect(OrgKind.city.canSit(under: nil))
        #expect(OrgKind.district.canSit(under: .city))
        #expect(OrgKind.street.canSit(under: .district))
        #expect(OrgKind.enterprise.canSit(under: .street))
        #expect(OrgKind.enterprise.canSit(under: .building))
        #expect(OrgKind.industry.canSit(under: .district))
    }

    @Test func refusesShapesTheFederationDoesNotHave() {
        #expect(!OrgKind.district.canSit(under: nil))
        #expect(!OrgKind.city.canSit(under: .city))
        #expect(!OrgKind.street.canSit(under: .city))
        #expect(!OrgKind.district.canSit(under: .street))
        #expect(!OrgKind.enterprise.canSit(under: .enterprise))
        #expect(!OrgKind.community.canSit(under: .other))
        #expect(!OrgKind.enterprise.canSit(under: nil))
    }
}

@Suite struct TreePathTests {
    @Test func describesSubtrees() {
        let district = TreePath.root(id: 1).child(id: 5)
        let union = district.child(id: 23).child(id: 900)
        #expect(district.value == "/1/5/")
        #expect(district.contains(union))
        #expect(!union.contains(district))
        #expect(!TreePath("/1/5/").contains(TreePath("/1/50/")))
        #expect(union.ids == [1, 5, 23, 900])
        #expect(union.depth == 3)
        #expect(district.upperBound > union.value)
        // a sibling whose id merely starts with the same digits sorts outside the range
        #expect(TreePath("/1/50/").value >= TreePath("/1/5/").upperBound)
    }

    @Test func rebasesAMovedSubtree() {
        let street = TreePath("/1/5/23/")
        let moved = street.rebase(TreePath("/1/5/23/900/"), under: TreePath("/1/6/"), id: 23)
        #expect(moved.value == "/1/6/23/900/")
    }
}

@Suite struct StaffRoleTests {
    @Test func grantsOnlyRolesAtOrBelowItsOwn() {
        #expect(StaffRole.cityAdmin.canGrant(.cityAdmin))
        #expect(StaffRole.districtStaff.canGrant(.streetStaff))
        #expect(StaffRole.districtStaff.canGrant(.districtStaff))
        #expect(!StaffRole.districtStaff.canGrant(.cityAdmin))
        #expect(!StaffRole.streetStaff.canGrant(.districtStaff))
        #expect(!StaffRole.hotlineAgent.canGrant(.stationKeeper))
    }

    @Test func bindsRolesToFittingNodes() {
        #expect(StaffRole.cityAdmin.fits(.city))
        #expect(!StaffRole.cityAdmin.fits(.district))
        #expect(StaffRole.unionAdmin.fits(.building))
        #expect(!StaffRole.unionAdmin.fits(.street))
        #expect(StaffRole.stationKeeper.fits(.enterprise))
        #expect(!StaffRole.hotlineAgent.fits(.enterprise))
    }
}

@Suite struct CredentialTests {
    @Test func normalisesUsernames() throws {
        #expect(try Credentials.username(" Zhang.Wei ") == "zhang.wei")
        #expect(throws: Credentials.UsernameError.characters) { try Credentials.username("张三丰") }
        #expect(throws: Credentials.UsernameError.length) { try Credentials.username("ab") }
    }

    @Test func refusesWeakPasswords() throws {
        try Credentials.checkPassword("gonghui2024")
        #expect(throws: Credentials.PasswordError.length) { try Credentials.checkPassword("a1") }
        #expect(throws: Credentials.PasswordError.tooSimple) { try Credentials.checkPassword("aaaaaaaaaaaa") }
        #expect(throws: Credentials.PasswordError.tooSimple) { try Credentials.checkPassword("12345678") }
        #expect(throws: Credentials.PasswordError.length) {
            try Credentials.checkPassword(String(repeating: "密", count: 25) + "a1")
        }
    }

    @Test func locksAfterFiveFailuresAndUnlocksAfterTheWait() {
        var state = Credentials.LockState(failedAttempts: 0, lockedUntil: nil)
        for _ in 1...4 { state = state.failing(at: 100) }
        #expect(state.failedAttempts == 4)
        #expect(!state.isLocked(at: 100))
        state = state.failing(at: 100)
        #expect(state.isLocked(at: 100 + 60))
        #expect(!state.isLocked(at: 100 + Credentials.lockoutSeconds + 1))
        // A failure after the lock ran out starts counting again from one.
        state = state.failing(at: 100 + Credentials.lockoutSeconds + 1)
        #expect(state.failedAttempts == 1)
        #expect(!state.isLocked(at: 100 + Credentials.lockoutSeconds + 2))
    }
}

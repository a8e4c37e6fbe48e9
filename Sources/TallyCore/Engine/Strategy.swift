/// How the engine turns stats into SQL.
public enum Strategy: String, Sendable, CaseIterable, Codable {
    /// One scan per table; every stat of that table aggregated in Swift while stepping the rows.
    case singlePass = "single-pass"
    /// One `GROUP BY` query per stat.
    case grouped
    /// One `COUNT`/`SUM … WHERE col = ?` query per group value.
    case naive
}

/// How module counts per organization are queried.
public enum ModuleStrategy: String, Sendable, CaseIterable, Codable {
    /// One query per chunk of organizations (all of them in one query without `--org`).
    case batched
    /// One query per organization: the N+1 pattern.
    case perOrg = "per-org"
}

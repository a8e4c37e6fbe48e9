/// How the engine turns stats into SQL.
public enum Strategy: String, Sendable, CaseIterable, Codable {
    /// Rollups where every rollup the answer needs is present and intact,
    /// `single-pass` otherwise. The default; `meta.strategy` names what ran.
    case auto
    /// Read the rollup tables kept by triggers: O(groups), not O(rows).
    case rollup
    /// One scan per table; every stat of that table aggregated in Swift while stepping the rows.
    case singlePass = "single-pass"
    /// One `GROUP BY` query per stat.
    case grouped
    /// One `COUNT`/`SUM … WHERE col = ?` query per group value.
    case naive

    /// The strategies that compute from the base rows.
    public static let scans: [Strategy] = [.singlePass, .grouped, .naive]
}

/// How module counts per organization are queried (contract §3).
public enum ModuleStrategy: String, Sendable, CaseIterable, Codable {
    /// Rollups when present and intact, `batched` otherwise.
    case auto
    /// The rollup of active modules per organization.
    case rollup
    /// One `GROUP BY` query (per 500 requested organizations): the seeds' batched counts.
    case batched
    /// One `COUNT` per organization: the N+1 pattern.
    case perOrg = "per-org"

    /// The engine strategy behind it.
    public var strategy: Strategy {
        switch self {
        case .auto: .auto
        case .rollup: .rollup
        case .batched: .grouped
        case .perOrg: .naive
        }
    }

    init(running strategy: Strategy) {
        switch strategy {
        case .rollup: self = .rollup
        case .naive: self = .perOrg
        default: self = .batched
        }
    }
}

// Generated from schema.sql at the repository root; a test fails if the two differ.
// Edit schema.sql, then run `scripts/embed-schema.sh`.

extension TallySchema {
    /// The exact text of `schema.sql`: tables, CHECKs, foreign keys and documented indexes.
    public static let sql: String = #"""
        -- Tally schema, version 1 (contract §1).
        -- Timestamps: INTEGER Unix epoch milliseconds, UTC. Money: INTEGER minor units.
        -- Booleans: INTEGER 0/1. The `tally` binary embeds this exact text and applies it
        -- through a DatabaseMigrator; a later change is a new migration, not an edit.
        --
        -- Enum CHECKs are written as OR chains, not `col IN ('A', 'B', 'C')`: SQLite 3.40
        -- evaluates an IN list of three or more values in a CHECK by building an
        -- ephemeral B-tree for every inserted row, which made bulk inserts ~3× slower.

        CREATE TABLE users (
          id        INTEGER PRIMARY KEY,
          email     TEXT    NOT NULL UNIQUE,
          name      TEXT,
          role      TEXT    NOT NULL CHECK (role = 'CUSTOMER' OR role = 'DRIVER' OR role = 'ADMIN'),
          isActive  INTEGER NOT NULL DEFAULT 1 CHECK (isActive IN (0, 1)),
          createdAt INTEGER NOT NULL
        );

        CREATE TABLE drivers (
          id          INTEGER PRIMARY KEY,
          userId      INTEGER NOT NULL REFERENCES users(id),
          isAvailable INTEGER NOT NULL DEFAULT 0 CHECK (isAvailable IN (0, 1)),
          rating      REAL    CHECK (rating IS NULL OR (rating >= 0 AND rating <= 5)),
          createdAt   INTEGER NOT NULL
        );

        CREATE TABLE vehicles (
          id          INTEGER PRIMARY KEY,
          driverId    INTEGER REFERENCES drivers(id),
          type        TEXT    NOT NULL CHECK (type = 'CAR' OR type = 'MOTORBIKE' OR type = 'VAN' OR type = 'TRUCK'),
          plate       TEXT    UNIQUE,
          isAvailable INTEGER NOT NULL DEFAULT 1 CHECK (isAvailable IN (0, 1)),
          createdAt   INTEGER NOT NULL
        );

        CREATE TABLE bookings (
          id            INTEGER PRIMARY KEY,
          userId        INTEGER NOT NULL REFERENCES users(id),
          driverId      INTEGER REFERENCES drivers(id),
          vehicleId     INTEGER REFERENCES vehicles(id),
          serviceType   TEXT    NOT NULL CHECK (serviceType = 'RIDE' OR serviceType = 'DELIVERY' OR serviceType = 'RENTAL'),
          status        TEXT    NOT NULL CHECK (status = 'PENDING' OR status = 'CONFIRMED' OR status = 'IN_PROGRESS' OR status = 'COMPLETED' OR status = 'CANCELLED'),
          price         INTEGER NOT NULL,
          scheduledDate INTEGER NOT NULL,
          createdAt     INTEGER NOT NULL
        );

        CREATE TABLE payments (
          id        INTEGER PRIMARY KEY,
          bookingId INTEGER NOT NULL REFERENCES bookings(id),
          amount    INTEGER NOT NULL CHECK (amount >= 0),
          status    TEXT    NOT NULL CHECK (status = 'PENDING' OR status = 'COMPLETED' OR status = 'FAILED' OR status = 'REFUNDED'),
          createdAt INTEGER NOT NULL
        );

        CREATE TABLE organizations (
          id        TEXT    PRIMARY KEY NOT NULL,
          name      TEXT    NOT NULL,
          createdAt INTEGER NOT NULL
        );

        CREATE TABLE modules (
          id             INTEGER PRIMARY KEY,
          organizationId TEXT    NOT NULL REFERENCES organizations(id),
          key            TEXT    NOT NULL,
          isActive       INTEGER NOT NULL DEFAULT 1 CHECK (isActive IN (0, 1)),
          createdAt      INTEGER NOT NULL,
          UNIQUE (organizationId, key)
        );

        -- The documented indexes (`tally indexes drop|apply` removes and restores exactly these).
        CREATE INDEX IF NOT EXISTS idx_users_role ON users(role);
        CREATE INDEX IF NOT EXISTS idx_users_isActive ON users(isActive);
        CREATE INDEX IF NOT EXISTS idx_users_createdAt ON users(createdAt);
        CREATE INDEX IF NOT EXISTS idx_users_role_isActive ON users(role, isActive);
        CREATE INDEX IF NOT EXISTS idx_bookings_status ON bookings(status);
        CREATE INDEX IF NOT EXISTS idx_bookings_serviceType ON bookings(serviceType);
        CREATE INDEX IF NOT EXISTS idx_bookings_userId ON bookings(userId);
        CREATE INDEX IF NOT EXISTS idx_bookings_driverId ON bookings(driverId);
        CREATE INDEX IF NOT EXISTS idx_bookings_createdAt ON bookings(createdAt);
        CREATE INDEX IF NOT EXISTS idx_bookings_scheduledDate ON bookings(scheduledDate);
        CREATE INDEX IF NOT EXISTS idx_bookings_status_createdAt ON bookings(status, createdAt);
        CREATE INDEX IF NOT EXISTS idx_payments_status ON payments(status);
        CREATE INDEX IF NOT EXISTS idx_payments_createdAt ON payments(createdAt);
        CREATE INDEX IF NOT EXISTS idx_payments_status_createdAt ON payments(status, createdAt);
        CREATE INDEX IF NOT EXISTS idx_drivers_isAvailable ON drivers(isAvailable);
        CREATE INDEX IF NOT EXISTS idx_drivers_rating ON drivers(rating);
        CREATE INDEX IF NOT EXISTS idx_vehicles_type ON vehicles(type);
        CREATE INDEX IF NOT EXISTS idx_vehicles_isAvailable ON vehicles(isAvailable);
        CREATE INDEX IF NOT EXISTS idx_modules_organizationId_isActive ON modules(organizationId, isActive);
        """#
}

/// A bounded least-recently-used map with O(1) get, put, touch and evict.
///
/// Entries live in one array of slots threaded by a doubly linked list of
/// slot indices (most recent at the head); a dictionary maps keys to slots.
/// Freed slots are reused, so a full store allocates nothing per operation.
/// (`OrderedDictionary` would make "move to front" O(n).)
///
/// Not thread-safe: `StatsCache` guards it with its lock.
struct LRUStore<Key: Hashable, Value> {
    struct Slot {
        var key: Key
        var value: Value
        var bytes: Int
        var previous: Int  // towards the head (more recent); -1 at the head
        var next: Int  // towards the tail (less recent); -1 at the tail
    }

    private var slots: [Slot?] = []
    private var index: [Key: Int] = [:]
    private var freeSlots: [Int] = []
    private var head = -1
    private var tail = -1

    let maximumEntries: Int
    let maximumBytes: Int
    private(set) var count = 0
    private(set) var bytes = 0

    init(maximumEntries: Int, maximumBytes: Int) {
        precondition(maximumEntries > 0 && maximumBytes > 0)
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
    }

    /// The value for `key`, marking it most recently used.
    mutating func get(_ key: Key) -> Value? {
        guard let i = index[key] else { return nil }
        moveToHead(i)
        return slots[i]!.value
    }

    /// The value for `key` without changing the recency order.
    func peek(_ key: Key) -> Value? {
        index[key].map { slots[$0]!.value }
    }

    /// Inserts or replaces, then evicts least recently used entries until both
    /// bounds hold. An entry larger than `maximumBytes` is not stored.
    ///
    /// - returns: the evicted entries (not the replaced one).
    @discardableResult
    mutating func put(_ key: Key, _ value: Value, bytes entryBytes: Int) -> [(key: Key, value: Value, bytes: Int)] {
        remove(key)
        guard entryBytes <= maximumBytes else { return [] }
        let slot = Slot(key: key, value: value, bytes: entryBytes, previous: -1, next: head)
        let i: Int
        if let free = freeSlots.popLast() {
            i = free
            slots[i] = slot
        } else {
            i = slots.count
            slots.append(slot)
        }
        if head >= 0 { slots[head]!.previous = i }
        head = i
        if tail < 0 { tail = i }
        index[key] = i
        count += 1
        bytes += entryBytes
        var evicted: [(key: Key, value: Value, bytes: Int)] = []
        while count > maximumEntries || bytes > maximumBytes, tail >= 0, tail != i {
            let old = slots[tail]!
            remove(old.key)
            evicted.append((old.key, old.value, old.bytes))
        }
        return evicted
    }

    /// Removes an entry; returns it.
    @discardableResult
    mutating func remove(_ key: Key) -> (value: Value, bytes: Int)? {
        guard let i = index.removeValue(forKey: key) else { return nil }
        let slot = slots[i]!
        unlink(i)
        slots[i] = nil
        freeSlots.append(i)
        count -= 1
        bytes -= slot.bytes
        return (slot.value, slot.bytes)
    }

    /// Keys from most to least recently used.
    var keysByRecency: [Key] {
        var keys: [Key] = []
        var i = head
        while i >= 0 {
            keys.append(slots[i]!.key)
            i = slots[i]!.next
        }
        return keys
    }

    /// Every key, in no particular order.
    var keys: Dictionary<Key, Int>.Keys { index.keys }

    mutating func removeAll() {
        slots.removeAll()
        index.removeAll()
        freeSlots.removeAll()
        head = -1
        tail = -1
        count = 0
        bytes = 0
    }

    private mutating func moveToHead(_ i: Int) {
        guard i != head else { return }
        unlink(i)
        slots[i]!.previous = -1
        slots[i]!.next = head
        if head >= 0 { slots[head]!.previous = i }
        head = i
        if tail < 0 { tail = i }
    }

    private mutating func unlink(_ i: Int) {
        let previous = slots[i]!.previous, next = slots[i]!.next
        if previous >= 0 { slots[previous]!.next = next } else { head = next }
        if next >= 0 { slots[next]!.previous = previous } else { tail = previous }
    }
}

extension LRUStore: Sendable where Key: Sendable, Value: Sendable {}
extension LRUStore.Slot: Sendable where Key: Sendable, Value: Sendable {}

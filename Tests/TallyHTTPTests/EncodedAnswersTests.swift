import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyHTTP

@Suite("Encoded answers")
struct EncodedAnswersTests {
    @Test("finds the top-level meta value, never a nested key or a string that looks like one")
    func topLevelMeta() {
        func value(_ json: String) -> String? {
            let bytes = Array(json.utf8)
            return EncodedAnswers.topLevelValue(named: "meta", in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        #expect(value(#"{"a":1,"meta":{"cache":"hit"},"z":2}"#) == #"{"cache":"hit"}"#)
        #expect(value(#"{"byStatus":{"meta":{"count":3}},"meta":{"x":"}\"{"},"z":"\"meta\":1"}"#) == #"{"x":"}\"{"}"#)
        #expect(value(#"{"note":"\"meta\":{}","meta" : [1,{"a":[]}]}"#) == #"[1,{"a":[]}]"#)
        #expect(value(#"{"a":{"meta":1}}"#) == nil)
        #expect(value(#"{"meta":"text, with comma"}"#) == #""text, with comma""#)
    }

    @Test("a cached answer's body is the same numbers with its own meta; a write gives new numbers and a new ETag")
    func splicedBodies() async throws {
        let fixture = try Fixture(bookings: 300)
        // A status named "meta" puts a nested "meta" key in the answer.
        try await fixture.writer.writeWithoutTransaction { db in
            // Past the schema's CHECK, as a foreign writer could.
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON; UPDATE bookings SET status = 'meta' WHERE id <= 3")
        }
        try await fixture.app().test(.router) { client in
            var bodies: [[String: Any]] = [], etags: [String] = []
            for _ in 0..<3 {
                try await client.execute(uri: "/api/dashboard", method: .get) { response in
                    #expect(response.status == .ok)
                    bodies.append(try json(response.body))
                    etags.append(response.headers[.eTag] ?? "")
                }
            }
            #expect(Set(etags).count == 1)
            let metas = bodies.map { $0["meta"] as! [String: Any] }
            #expect(metas.map { $0["cache"] as! String } == ["miss", "hit", "hit"])
            func numbers(_ body: [String: Any]) -> NSDictionary { body.filter { $0.key != "meta" } as NSDictionary }
            #expect(numbers(bodies[0]).isEqual(numbers(bodies[1])) && numbers(bodies[1]).isEqual(numbers(bodies[2])))
            let byStatus = (bodies[2]["bookings"] as! [String: Any])["byStatus"] as! [String: Any]
            #expect((byStatus["meta"] as! NSNumber).intValue == 3)

            try await fixture.writer.writeWithoutTransaction { db in
                // Past the schema's CHECK, as a foreign writer could.
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON; UPDATE bookings SET status = 'meta' WHERE id <= 5")
            }
            try await client.execute(uri: "/api/dashboard", method: .get) { response in
                #expect(response.headers[.eTag] != etags[0])
                let body = try json(response.body)
                let byStatus = (body["bookings"] as! [String: Any])["byStatus"] as! [String: Any]
                #expect((byStatus["meta"] as! NSNumber).intValue == 5)
                #expect((body["meta"] as! [String: Any])["cache"] as? String == "miss")
            }
        }
    }
}

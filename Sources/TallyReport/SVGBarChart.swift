import Foundation
import TallyCore

/// A bar chart drawn as inline SVG: no script, no font download, no network.
///
/// Labels are thinned so that they never overlap (at most `maximumLabels`
/// on the x axis); the y axis has round gridlines; an all-zero or empty
/// series draws an empty frame with a note, never a NaN.
struct SVGBarChart {
    struct Bar {
        var label: String
        var value: Double
    }

    var bars: [Bar]
    var title: String
    var valueFormat: (Double) -> String
    var width = 960.0
    var height = 320.0
    var maximumLabels = 12

    func render() -> String {
        let left = 80.0, right = 16.0, top = 16.0, bottom = 56.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maxValue = bars.map(\.value).max() ?? 0
        let scaleMax = Self.niceCeiling(maxValue)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        // Grid and y labels.
        for i in 0...4 {
            let v = scaleMax * Double(i) / 4
            let y = top + plotHeight - plotHeight * Double(i) / 4
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(valueFormat(v)))</text>"
        }
        if bars.isEmpty || maxValue <= 0 {
            svg +=
                "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" class=\"note\">No data in this range</text>"
        }
        if !bars.isEmpty {
            let slot = plotWidth / Double(bars.count)
            let barWidth = max(1, slot * 0.8)
            let every = max(1, Int((Double(bars.count) / Double(maximumLabels)).rounded(.up)))
            for (i, bar) in bars.enumerated() {
                let h = scaleMax > 0 ? plotHeight * bar.value / scaleMax : 0
                let x = left + slot * Double(i) + (slot - barWidth) / 2
                svg += "<rect x=\"\(f(x))\" y=\"\(f(top + plotHeight - h))\" width=\"\(f(barWidth))\" height=\"\(f(h))\" class=\"bar\">"
                svg += "<title>\(HTML.escape(bar.label)): \(HTML.escape(valueFormat(bar.value)))</title></rect>"
                if i % every == 0 {
                    let cx = left + slot * (Double(i) + 0.5)
                    svg +=
                        "<text x=\"\(f(cx))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\" class=\"axis\">\(HTML.escape(bar.label))</text>"
                }
            }
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(width - right))\" y2=\"\(f(top + plotHeight))\" class=\"baseline\"/>"
        return svg + "</svg>"
    }

    /// 1, 2, 2.5 or 5 times a power of ten, at least `value` (1 for zero).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// Horizontal bars for a few named values (statuses, roles).
struct SVGHorizontalBars {
    var items: [(label: String, value: Int64)]
    var width = 460.0

    func render() -> String {
        let rowHeight = 26.0, labelWidth = 120.0, valueWidth = 80.0
        let height = rowHeight * Double(max(1, items.count)) + 8
        let maxValue = Double(items.map(\.value).max() ?? 0)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        for (i, item) in items.enumerated() {
            let y = 4 + rowHeight * Double(i)
            let w = maxValue > 0 ? (width - labelWidth - valueWidth) * Double(item.value) / maxValue : 0
            svg += "<text x=\"\(Int(labelWidth - 8))\" y=\"\(Int(y + 17))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(item.label))</text>"
            svg += "<rect x=\"\(Int(labelWidth))\" y=\"\(Int(y + 4))\" width=\"\(String(format: "%.1f", w))\" height=\"18\" class=\"bar\"/>"
            svg +=
                "<text x=\"\(String(format: "%.1f", labelWidth + w + 6))\" y=\"\(Int(y + 17))\" class=\"axis\">\(ReportFormat.count(item.value))</text>"
        }
        return svg + "</svg>"
    }
}

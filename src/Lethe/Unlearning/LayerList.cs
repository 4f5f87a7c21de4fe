// Layer lists as users write them: "all", "last", or comma-separated items "3", "-1" (counted from
// the end), "2..5" (inclusive). Errors name the library parameter "layers" (the CLI shows --layers).
using System.Globalization;

namespace Lethe.Unlearning;

public static class LayerList
{
    public static int[] Parse(string text, int numLayers)
    {
        text = text.Trim();
        if (text == "all") return Enumerable.Range(0, numLayers).ToArray();
        if (text == "last") return new[] { numLayers - 1 };
        var result = new SortedSet<int>();
        int Layer(string item)
        {
            if (!int.TryParse(item, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
                throw LetheException.About($"layers: '{item}' is not a layer number; use all, last, or a list like 0,3..5,-1", "layers");
            int l = v < 0 ? numLayers + v : v;
            if (l < 0 || l >= numLayers) throw LetheException.About($"layers: layer {v} is outside the model's {numLayers} layers (0..{numLayers - 1}, or -1..-{numLayers} from the end)", "layers");
            return l;
        }
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int dots = item.IndexOf("..", StringComparison.Ordinal);
            if (dots < 0) { result.Add(Layer(item)); continue; }
            int a = Layer(item[..dots]), b = Layer(item[(dots + 2)..]);
            if (a > b) throw LetheException.About($"layers: range '{item}' runs backwards; write {item[(dots + 2)..]}..{item[..dots]}", "layers");
            for (int l = a; l <= b; l++) result.Add(l);
        }
        if (result.Count == 0) throw LetheException.About("layers selects no layer; use all, last, or a list like 0,3..5,-1", "layers");
        return result.ToArray();
    }
}

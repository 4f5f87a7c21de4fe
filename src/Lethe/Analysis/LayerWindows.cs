// The layer windows an intervention is applied over: [S2]'s sliding window [ℓ − r, ℓ + r] clipped to
// the model (r = 2 by default), one per centre layer ℓ = 0…L−1, or one explicit range "a-b". A window
// outside the model is refused with the valid range.
namespace Lethe.Analysis;

/// <summary>Layers From..To (inclusive); Center is the ℓ a sliding window was made for (From for an explicit range).</summary>
public sealed record LayerWindow(int Center, int From, int To)
{
    public bool Contains(int layer) => layer >= From && layer <= To;
    public override string ToString() => From == To ? $"{From}" : $"{From}-{To}";
}

public static class LayerWindows
{
    public static List<LayerWindow> Sliding(int layers, int radius = 2)
    {
        if (radius < 0) throw LetheException.About($"radius must be ≥ 0 (the window is [ℓ − r, ℓ + r]), got {radius}", "radius");
        return Enumerable.Range(0, layers).Select(l => new LayerWindow(l, Math.Max(0, l - radius), Math.Min(layers - 1, l + radius))).ToList();
    }

    /// <summary>"a-b" or "a": one window; every layer must exist.</summary>
    public static LayerWindow Parse(string text, int layers)
    {
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length is < 1 or > 2 || !parts.All(p => int.TryParse(p, out _)))
            throw LetheException.About($"layers '{text}': give a layer or a range, for example 5-7 (layers 0-{layers - 1})", "layers");
        int from = int.Parse(parts[0]), to = int.Parse(parts[^1]);
        return Require(new LayerWindow(from, from, to), layers, "layers");
    }

    public static LayerWindow Require(LayerWindow w, int layers, string what)
    {
        if (w.From < 0 || w.To >= layers || w.From > w.To)
            throw LetheException.About($"{what} {w}: the model has layers 0-{layers - 1}; give a window inside that range with from ≤ to", what);
        return w;
    }
}

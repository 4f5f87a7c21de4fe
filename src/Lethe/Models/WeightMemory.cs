// Where a loaded model's weights are held (TransformerModel.MeasureWeightMemory), in bytes, for
// `generate -v` and `serve`: what --dtype q8_0 saves is visible to the user, not only to a profiler.
using System.Globalization;

namespace Lethe.Models;

/// <param name="DenseInMemory">Dense values in the process's own memory (copies, conversions, norm vectors).</param>
/// <param name="DenseMapped">Dense values mapped from the checkpoint file (pages loaded on use, handed back after quantizing).</param>
/// <param name="Int8">Q8_0 copies (--dtype q8_0).</param>
/// <param name="DenseNotMade">Dense values of weights held as int8 alone, made only if something reads them.</param>
public sealed record WeightMemory(long DenseInMemory, long DenseMapped, long Int8, long DenseNotMade)
{
    /// <summary>One line, in MB: "weights: 143.2 MB int8, 0.1 MB dense in memory, 12.6 MB dense mapped from the file".</summary>
    public override string ToString()
    {
        static string Mb(long bytes) => (bytes / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MB";
        var parts = new List<string>();
        if (Int8 > 0) parts.Add($"{Mb(Int8)} int8");
        parts.Add($"{Mb(DenseInMemory)} dense in memory");
        if (DenseMapped > 0) parts.Add($"{Mb(DenseMapped)} dense mapped from the file");
        if (DenseNotMade > 0) parts.Add($"no dense copy of {Mb(DenseNotMade)} held as int8 alone");
        return "weights: " + string.Join(", ", parts);
    }
}

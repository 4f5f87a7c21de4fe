// Probe statistics kept between fits on one model. An experiment fits Neuron Adjust at several p and
// seeds (and Selective Pruning) for the same forget skill: the per-neuron statistics of the forget
// and retain probes do not depend on p or the seed, and collecting them is most of a fit's time. The
// key is the statistic, the encoded probe tokens (a hash over every id) and the batch size, so a
// different probe set, text part or token budget is collected afresh. A cache belongs to one model:
// entries hold no model identity, so the owner must not share it between models.
using System.Security.Cryptography;

namespace Lethe.Unlearning;

public sealed class ProbeStatisticsCache
{
    private readonly Dictionary<string, object> entries = new();

    /// <summary>Statistics collected (cache misses) so far.</summary>
    public int Collections { get; private set; }

    /// <summary>The statistic for these tokens, collected by collect on the first request.</summary>
    internal T GetOrCollect<T>(IReadOnlyList<int[]> ids, int batchSize, Func<T> collect) where T : class
    {
        string key = $"{typeof(T).FullName}|{batchSize}|{Hash(ids)}";
        lock (entries)
        {
            if (entries.TryGetValue(key, out var hit)) return (T)hit;
        }
        var value = collect();
        lock (entries)
        {
            Collections++;
            entries[key] = value;
        }
        return value;
    }

    private static string Hash(IReadOnlyList<int[]> ids)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> len = stackalloc byte[4];
        foreach (var t in ids)
        {
            BitConverter.TryWriteBytes(len, t.Length); // sequence boundaries are part of the key
            h.AppendData(len);
            h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.AsSpan()));
        }
        return Convert.ToHexString(h.GetHashAndReset());
    }
}

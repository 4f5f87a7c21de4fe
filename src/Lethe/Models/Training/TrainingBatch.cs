// One training batch for a causal LM: input ids [B, T] and next-token targets [B, T] where
// targets[b, t] is the id the model should predict after position t, or IgnoreIndex where the
// position does not count (prompt tokens, padding, the end of a sequence).
namespace Lethe.Models.Training;

public sealed record TrainingBatch(int[] Ids, int[] Targets, int Batch, int Length)
{
    public const int IgnoreIndex = -100;

    /// <summary>Per sequence, how many input positions are real tokens (the rest is right padding); null = all.</summary>
    public int[]? RowLengths { get; init; }

    /// <summary>Number of positions that contribute to the loss.</summary>
    public int CountedTokens => Targets.Count(t => t != IgnoreIndex);
}

/// <summary>A source of batches whose position can be saved and restored (exact resume).</summary>
public interface IBatchSource
{
    TrainingBatch Next();
    long Position { get; set; }
}

/// <summary>
/// Consecutive windows of T+1 tokens from one long token stream (pre-training style): inputs are
/// the first T, targets the last T. Wraps around at the end. Position is the next start offset.
/// </summary>
public sealed class TokenStreamSource : IBatchSource
{
    private readonly int[] tokens;
    private readonly int batch, length;

    public TokenStreamSource(int[] tokens, int batch, int length)
    {
        if (batch <= 0 || length <= 0) throw new LetheException($"batch size and sequence length must be positive, got {batch} and {length}");
        if (tokens.Length < length + 1) throw LetheException.About($"the training corpus has {tokens.Length} tokens, fewer than one sequence of {length + 1}; lower seq_len or add data", "seq_len");
        this.tokens = tokens; this.batch = batch; this.length = length;
    }

    public long Position { get; set; }

    public TrainingBatch Next()
    {
        var ids = new int[batch * length]; var targets = new int[batch * length];
        for (int b = 0; b < batch; b++)
        {
            if (Position + length + 1 > tokens.Length) Position = 0;
            int start = (int)Position;
            Array.Copy(tokens, start, ids, b * length, length);
            Array.Copy(tokens, start + 1, targets, b * length, length);
            Position += length;
        }
        return new TrainingBatch(ids, targets, batch, length);
    }
}

/// <summary>
/// Prompt/answer examples (instruction tuning, unlearning forget/retain sets): each row is
/// prompt + answer, right-padded to the longest row of the batch, and only answer tokens are
/// targets. Examples are visited in a seeded shuffled order, reshuffled each epoch.
/// With several pools (retain files given shares), each row comes from the pool that a smooth
/// weighted round robin picks: over any stretch of rows, pool p gives its share of them, whatever the
/// pools' sizes, and each pool is visited in its own shuffled order. Position is the number of rows
/// drawn, so a resumed run continues exactly; one pool gives the same rows as before pools existed.
/// </summary>
public sealed class PromptAnswerSource : IBatchSource
{
    private sealed class Pool((int[] prompt, int[] answer)[] examples, ulong seed)
    {
        private int[] order = Array.Empty<int>();
        private long epochOfOrder = -1;
        public long Drawn;

        public (int[] prompt, int[] answer) At(long k)
        {
            long epoch = k / examples.Length;
            if (epoch != epochOfOrder)
            {
                order = Enumerable.Range(0, examples.Length).ToArray();
                var rng = new Tensors.Rng(seed + (ulong)epoch * 0x9E3779B97F4A7C15UL);
                for (int i = order.Length - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (order[i], order[j]) = (order[j], order[i]); }
                epochOfOrder = epoch;
            }
            return examples[order[(int)(k % examples.Length)]];
        }
    }

    private readonly Pool[] pools;
    private readonly double[] shares, credit;
    private readonly double totalShare;
    private readonly int batch, maxLength, padId;
    private long position;

    public PromptAnswerSource(IReadOnlyList<(int[] prompt, int[] answer)> examples, int batch, int maxLength, int padId, ulong seed)
        : this(new[] { examples }, new[] { 1.0 }, batch, maxLength, padId, seed) { }

    /// <summary>Several pools; shares[p] &gt; 0 is pool p's relative share of the rows.</summary>
    public PromptAnswerSource(IReadOnlyList<IReadOnlyList<(int[] prompt, int[] answer)>> pools, IReadOnlyList<double> shares, int batch, int maxLength, int padId, ulong seed)
    {
        if (pools.Count == 0 || pools.Any(p => p.Count == 0)) throw new LetheException("no training examples were given");
        if (shares.Count != pools.Count || shares.Any(w => !(w > 0) || double.IsInfinity(w)))
            throw new LetheException($"{pools.Count} pools of examples need as many positive, finite shares, got [{string.Join(", ", shares)}]");
        if (batch <= 0 || maxLength < 2) throw new LetheException($"batch size must be positive and max length at least 2, got {batch} and {maxLength}");
        // Pool 0 keeps the seed a single pool always had; the others get their own order.
        this.pools = pools.Select((p, k) => new Pool(p.ToArray(), seed + (ulong)k * 0xD1B54A32D192ED03UL)).ToArray();
        this.shares = shares.ToArray(); credit = new double[pools.Count]; totalShare = this.shares.Sum();
        this.batch = batch; this.maxLength = maxLength; this.padId = padId;
    }

    public long Position
    {
        get => position;
        set
        {
            // Replay the pool choices of the first `value` rows (cheap: a run draws thousands of rows, not billions).
            Array.Clear(credit);
            foreach (var p in pools) p.Drawn = 0;
            position = 0;
            while (position < value) { pools[NextPool()].Drawn++; position++; }
        }
    }

    /// <summary>Smooth weighted round robin: every pool earns its share, the richest gives the row and pays the total.</summary>
    private int NextPool()
    {
        if (pools.Length == 1) return 0;
        int best = 0;
        for (int p = 0; p < pools.Length; p++)
        {
            credit[p] += shares[p];
            if (credit[p] > credit[best]) best = p;
        }
        credit[best] -= totalShare;
        return best;
    }

    public TrainingBatch Next()
    {
        var rows = new List<(int[] seq, int promptLength)>();
        for (int b = 0; b < batch; b++)
        {
            var pool = pools[NextPool()];
            var (prompt, answer) = pool.At(pool.Drawn++);
            position++;
            var seq = prompt.Concat(answer).Take(maxLength).ToArray();
            rows.Add((seq, Math.Min(prompt.Length, seq.Length)));
        }
        int T = rows.Max(r => r.seq.Length) - 1;
        if (T < 1) throw new LetheException("a training example has fewer than 2 tokens; each needs a prompt and an answer");
        var ids = new int[batch * T]; var targets = new int[batch * T];
        Array.Fill(ids, padId); Array.Fill(targets, TrainingBatch.IgnoreIndex);
        var lengths = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            var (seq, promptLength) = rows[b];
            lengths[b] = Math.Min(T, seq.Length);
            for (int t = 0; t < Math.Min(T, seq.Length); t++) ids[b * T + t] = seq[t];
            // Position t predicts seq[t + 1]; count it when that token belongs to the answer.
            for (int t = Math.Max(0, promptLength - 1); t + 1 < seq.Length && t < T; t++) targets[b * T + t] = seq[t + 1];
        }
        return new TrainingBatch(ids, targets, batch, T) { RowLengths = lengths };
    }
}

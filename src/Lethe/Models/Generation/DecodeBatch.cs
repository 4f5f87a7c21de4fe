// The one token-generation loop, as a batch whose sequences come and go. Generator runs it for a
// fixed set of prompts (all added before the first step); the OpenAI-compatible server runs it
// forever, adding requests as they arrive (Serving/BatchScheduler).
//
// Step() does, in order:
//   1. Prefill: the sequences added since the last step are left-padded to their longest prompt and
//      run in one pass into a fresh KV cache (KeyStart masks the padding, positions count from each
//      prompt's first token); each gets its first token from that pass.
//   2. Decode: one pass over the sequences already in the batch, one token each, reading the shared
//      KV cache in place (the LM head only at the new position).
//   3. Leave and join: finished sequences leave the cache (KvCache.Keep); the newcomers' rows are
//      appended, right-aligned with the others (all rows share one cache length, so the shorter side
//      gets more left padding: KvCache.Shift), after dropping leading positions that every row pads.
// A sequence ends at an end-of-sequence id, when its OnToken callback says so (stop strings, a
// consumer that went away), after MaxNewTokens tokens, or when the intervention flags it in a pass
// (abstention: the pass's token is dropped). Its sampler, prompt key and verdict are its own, so
// what it generates does not depend on which other sequences share its passes. Each pass is an
// intervention run of its own (Begin(rows), SetPass): a flagged sequence stops in the pass that
// flagged it, so a verdict is never carried from one pass to the next.
// Admission (CanAdd) keeps every sequence's remaining tokens inside the cache's capacity: rows
// advance together, so "cache length + most remaining tokens" only shrinks while no one joins.
// Not thread-safe: one thread steps a batch (the model's scratch arenas are per thread).
using Lethe.Tensors;
using Lethe.Tensors.Autograd;

namespace Lethe.Models.Generation;

/// <summary>Why a sequence stopped.</summary>
public enum FinishReason { None, Length, EndOfSequence, Stopped, Abstained, Cancelled }

/// <summary>One sequence of a DecodeBatch: its prompt and limits in, its tokens and verdict out.</summary>
public sealed class DecodeSequence
{
    /// <param name="onToken">Called with every new token that neither ends the sequence nor comes from an abstaining pass, and the tokens so far; true stops the sequence.</param>
    public DecodeSequence(int[] prompt, int maxNewTokens, SamplingOptions sampling, Func<int, IReadOnlyList<int>, bool>? onToken = null, CancellationToken cancel = default)
    {
        if (prompt.Length == 0) throw new LetheException("a prompt has no tokens; give at least one (for example the BOS token)");
        if (maxNewTokens < 0) throw LetheException.About($"max_new_tokens must be ≥ 0, got {maxNewTokens}", "max_new_tokens");
        Prompt = prompt; MaxNewTokens = maxNewTokens; OnToken = onToken; Cancel = cancel;
        Sampler = new Sampler(sampling);
        Key = PassLayout.KeyOf(prompt);
        history = new List<int>(prompt);
    }

    public int[] Prompt { get; }
    public int MaxNewTokens { get; }
    public CancellationToken Cancel { get; }
    internal Func<int, IReadOnlyList<int>, bool>? OnToken { get; }
    internal Sampler Sampler { get; }
    internal ulong Key { get; }
    internal readonly List<int> history;
    /// <summary>Passes this sequence took part in (= tokens sampled, end id included).</summary>
    internal int Passes;
    /// <summary>KeyStart of its row in the cache it is in.</summary>
    internal int KeyStart;
    /// <summary>What interventions pool over its tokens so far (PassLayout.States).</summary>
    internal SequenceState State { get; } = new();

    /// <summary>New tokens (no end id, none from the pass that abstained).</summary>
    public List<int> Tokens { get; } = new();
    public FinishReason Finish { get; internal set; }
    public bool Done => Finish != FinishReason.None;
    public bool Abstained => Finish == FinishReason.Abstained;
    /// <summary>Passes still to run at most.</summary>
    internal int Remaining => MaxNewTokens - Passes;
}

public sealed record DecodeBatchOptions
{
    /// <summary>Sequences in the batch at most (rows of the KV cache).</summary>
    public int MaxRows { get; init; } = 16;
    /// <summary>Positions of the shared KV cache (left padding included).</summary>
    public int Capacity { get; init; } = 512;
    /// <summary>Ids that end a sequence (default: the model's eos_token_id).</summary>
    public int[]? EosIds { get; init; }
    public int PadId { get; init; } = 0;
    public HookSet? Hooks { get; init; }
    public InferenceIntervention? Intervention { get; init; }
}

public sealed class DecodeBatch : IDisposable
{
    private readonly TransformerModel model;
    private readonly DecodeBatchOptions options;
    private readonly HashSet<int> eos;
    private readonly HookSet? hooks;
    private readonly KvCache cache;
    private readonly TensorArena arena = new();
    // The logits of the last pass, reused from step to step: a fresh array per token would be a
    // large-object allocation (vocabulary × 4 bytes) every step, zeroed and soon collected.
    private float[] logitBuffer = Array.Empty<float>();
    private readonly List<DecodeSequence> rows = new();      // row r of the cache holds rows[r]
    private readonly List<DecodeSequence> pending = new();   // join at the next step

    public DecodeBatch(TransformerModel model, DecodeBatchOptions options)
    {
        if (options.MaxRows < 1 || options.Capacity < 1) throw new LetheException($"a decode batch needs at least 1 row and 1 position, got {options.MaxRows} and {options.Capacity}");
        this.model = model; this.options = options;
        eos = (options.EosIds ?? model.Config.EosTokenIds).ToHashSet();
        var intervention = options.Intervention;
        hooks = intervention is null ? options.Hooks : options.Hooks is null ? intervention.Hooks : new HookSet().Include(options.Hooks).Include(intervention.Hooks);
        cache = new KvCache(model.Config, options.MaxRows, options.Capacity, model.KvCacheStorage);
        cache.Clear();
    }

    /// <summary>Sequences in the batch or waiting to join it.</summary>
    public int Count => rows.Count + pending.Count;

    /// <summary>Whether a sequence of this prompt length and token budget could ever run (alone).</summary>
    public bool Fits(int promptLength, int maxNewTokens) => promptLength + maxNewTokens <= options.Capacity;

    /// <summary>Whether the sequence can join at the next step without pushing anyone past the cache's capacity.</summary>
    public bool CanAdd(DecodeSequence s)
    {
        if (Count >= options.MaxRows) return false;
        // After this step's decode pass the rows hold `length` positions (leading common padding
        // dropped) and need `rest` more; the newcomers are right-aligned with them.
        int length = 0, rest = 0;
        if (rows.Count > 0)
        {
            length = cache.Length - rows.Min(r => r.KeyStart) + 1;
            rest = rows.Max(r => r.Remaining) - 1;
        }
        int prompt = s.Prompt.Length, need = s.MaxNewTokens - 1;
        foreach (var p in pending) { prompt = Math.Max(prompt, p.Prompt.Length); need = Math.Max(need, p.MaxNewTokens - 1); }
        return Math.Max(length, prompt) + Math.Max(rest, need) <= options.Capacity;
    }

    /// <summary>Adds a sequence; it joins at the next Step. Check CanAdd first (an error otherwise).</summary>
    public void Add(DecodeSequence s)
    {
        if (!Fits(s.Prompt.Length, s.MaxNewTokens))
            throw new LetheException($"prompt ({s.Prompt.Length} tokens) + max new tokens ({s.MaxNewTokens}) exceed the {options.Capacity} positions this batch holds");
        if (!CanAdd(s)) throw new LetheException("DecodeBatch.Add: the batch has no room for this sequence now; check CanAdd and add it later");
        if (s.Done || s.Passes > 0) throw new LetheException("DecodeBatch.Add: a sequence runs once");
        pending.Add(s);
    }

    /// <summary>Runs one step (see the file header); returns the sequences that finished in it.</summary>
    public List<DecodeSequence> Step()
    {
        var finished = stepFinished = new List<DecodeSequence>();
        stepJoining = null;
        using var noGrad = Tape.NoGrad();
        var joining = stepJoining = Prefill(finished, out var fresh);
        using (fresh)
        {
            Decode(finished);
            Join(joining, fresh);
        }
        stepFinished = null; stepJoining = null;
        return finished;
    }

    // What a step that throws midway holds outside rows and pending, so that Abandon ends it too.
    private List<DecodeSequence>? stepFinished, stepJoining;

    private List<DecodeSequence> Prefill(List<DecodeSequence> finished, out KvCache? fresh)
    {
        fresh = null;
        var starting = new List<DecodeSequence>();
        foreach (var s in pending)
        {
            if (s.Cancel.IsCancellationRequested) Finish(s, FinishReason.Cancelled, finished);
            else if (s.MaxNewTokens == 0) Finish(s, FinishReason.Length, finished);
            else starting.Add(s);
        }
        if (starting.Count == 0) { pending.Clear(); return starting; }
        int R = starting.Count, P = starting.Max(s => s.Prompt.Length);
        var ids = new int[R * P];
        Array.Fill(ids, options.PadId);
        for (int r = 0; r < R; r++)
        {
            starting[r].KeyStart = P - starting[r].Prompt.Length;
            starting[r].Prompt.CopyTo(ids, r * P + starting[r].KeyStart);
        }
        fresh = new KvCache(model.Config, R, P);
        try
        {
            var logits = Pass(ids, starting, P, fresh);
            var survivors = Advance(starting, logits, finished);
            if (survivors.Count < R) fresh.Keep(survivors.ToArray());
            // Only now do they leave `pending`: a pass that throws leaves them there for Abandon.
            pending.Clear();
            return survivors.Select(r => starting[r]).ToList();
        }
        catch { fresh.Dispose(); fresh = null; throw; }
    }

    private void Decode(List<DecodeSequence> finished)
    {
        foreach (var s in rows)
            if (s.Cancel.IsCancellationRequested) Finish(s, FinishReason.Cancelled, finished);
        var live = Enumerable.Range(0, rows.Count).Where(r => !rows[r].Done).ToList();
        if (live.Count < rows.Count) Keep(live);
        if (rows.Count == 0) return;
        var ids = rows.Select(s => s.history[^1]).ToArray();
        // One core or all, as the model's DecodeWidth has timed them (the same bits either way).
        int threads = Engine.Threads, width = model.DecodeWidth.Next(rows.Count, threads);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Span<float> logits;
        using (Engine.Limit(width)) logits = Pass(ids, rows, 1, cache);
        model.DecodeWidth.Took(rows.Count, threads, System.Diagnostics.Stopwatch.GetTimestamp() - start);
        var survivors = Advance(rows, logits, finished);
        if (survivors.Count < rows.Count) Keep(survivors);
    }

    private void Keep(List<int> survivors)
    {
        cache.Keep(survivors.ToArray());
        var kept = survivors.Select(r => rows[r]).ToList();
        rows.Clear(); rows.AddRange(kept);
        if (rows.Count == 0) cache.Clear();
    }

    /// <summary>Right-aligns the prefilled newcomers with the rows already decoding and appends them.</summary>
    private void Join(List<DecodeSequence> joining, KvCache? fresh)
    {
        if (joining.Count == 0 || fresh is null) return;
        if (rows.Count == 0) cache.Clear();
        else
        {
            int common = rows.Min(r => r.KeyStart);   // leading positions every row pads
            ShiftRows(-common);
        }
        if (fresh.Length > cache.Length) ShiftRows(fresh.Length - cache.Length);
        int at = cache.Length - fresh.Length;
        cache.Append(fresh, at);
        foreach (var s in joining) { s.KeyStart += at; rows.Add(s); }
    }

    private void ShiftRows(int delta)
    {
        if (delta == 0) return;
        if (rows.Count == 0) cache.Length += delta;   // an empty cache: only its length moves
        else cache.Shift(delta);
        foreach (var s in rows) s.KeyStart += delta;
    }

    /// <summary>One forward pass over the given sequences (T new positions each); returns the logits at each row's newest position (valid until the next pass).</summary>
    private Span<float> Pass(int[] ids, List<DecodeSequence> seqs, int T, KvCache kv)
    {
        int R = seqs.Count;
        var keyStart = seqs.Select(s => s.KeyStart).ToArray();
        if (options.Intervention is { } intervention)
        {
            intervention.Begin(R);
            intervention.SetPass(new PassLayout(R, T, Enumerable.Range(0, R).ToArray(), keyStart.Select(k => kv.Length - k).ToArray(), seqs.Select(s => s.Key).ToArray(), seqs.Select(s => s.State).ToArray()));
        }
        var logitRows = Enumerable.Range(0, R).Select(r => r * T + T - 1).ToArray();
        try
        {
            using (arena.Activate())
            {
                var output = model.Forward(ids, R, new ForwardOptions { Cache = kv, KeyStart = keyStart, LogitRows = logitRows, Hooks = hooks });
                if (output.DType != DType.F32 || !output.IsContiguous) return output.ToArray();
                int n = checked((int)output.Length);
                if (logitBuffer.Length < n) logitBuffer = new float[n];
                output.AsReadOnlySpan().CopyTo(logitBuffer);
                return logitBuffer.AsSpan(0, n);
            }
        }
        finally { arena.Reset(); }
    }

    /// <summary>Samples each sequence's next token from its logits row; returns the rows that go on.</summary>
    private List<int> Advance(List<DecodeSequence> seqs, Span<float> logits, List<DecodeSequence> finished)
    {
        int R = seqs.Count, vocab = logits.Length / R;
        var keep = new List<int>(R);
        for (int r = 0; r < R; r++)
        {
            var s = seqs[r];
            s.Passes++;
            // The pass checked this sequence's newest position: a flag there ends it unanswered.
            if (options.Intervention is { } intervention && intervention.Flagged(r)) { Finish(s, FinishReason.Abstained, finished); continue; }
            int token = s.Sampler.Next(logits.Slice(r * vocab, vocab), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.history));
            s.history.Add(token);
            if (eos.Contains(token)) { Finish(s, FinishReason.EndOfSequence, finished); continue; }
            s.Tokens.Add(token);
            if (s.OnToken?.Invoke(token, s.Tokens) == true) { Finish(s, FinishReason.Stopped, finished); continue; }
            if (s.Remaining <= 0) { Finish(s, FinishReason.Length, finished); continue; }
            keep.Add(r);
        }
        return keep;
    }

    private static void Finish(DecodeSequence s, FinishReason why, List<DecodeSequence> finished)
    {
        s.Finish = why;
        finished.Add(s);
    }

    /// <summary>Ends every sequence in the batch or waiting to join (after a step that threw): they are returned, marked Cancelled, and the batch is empty.</summary>
    public List<DecodeSequence> Abandon()
    {
        var all = rows.Concat(pending).Concat(stepJoining ?? new()).Concat(stepFinished ?? new()).Distinct().ToList();
        foreach (var s in all) s.Finish = FinishReason.Cancelled;
        rows.Clear(); pending.Clear(); cache.Clear();
        stepFinished = null; stepJoining = null;
        return all;
    }

    public void Dispose()
    {
        cache.Dispose();
        arena.Dispose();
    }
}

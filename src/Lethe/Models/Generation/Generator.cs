// Token-level generation for a batch of prompts of different lengths: prompts are left-padded to a
// common length (KeyStart masks the padding and positions count from each prompt's first token),
// one prefill pass fills the KV cache, then each step feeds one token per sequence and computes the
// LM head only at that position. A sequence stops at an end-of-sequence id, when its stop check
// says so, at MaxNewTokens, or when an intervention flags it (abstention). A finished sequence is
// dropped from the batch (its rows leave the KV cache), so it takes no part in later passes: its
// verdict is latched when it finishes, and what one sequence generates or whether it abstains does
// not depend on the other sequences of its batch. This is the only generation loop; evaluation,
// `lethe generate` and the unlearning experiments all run through it. Runs without gradients in an
// arena reset every step.
using Lethe.Tensors;
using Lethe.Tensors.Autograd;

namespace Lethe.Models.Generation;

public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Ids that end a sequence (default: the model's eos_token_id).</summary>
    public int[]? EosIds { get; init; }
    public int PadId { get; init; } = 0;
    /// <summary>Hooks run in every forward pass (prefill and each step); rows are the unfinished sequences in order, left-padded, so row r's newest position is r·T + T − 1.</summary>
    public HookSet? Hooks { get; init; }
    /// <summary>An intervention (edits, abstention) told each pass's layout; a sequence it flags stops and is reported abstained.</summary>
    public InferenceIntervention? Intervention { get; init; }
}

/// <summary>One generated sequence: its new tokens (no end id; none from the pass that abstained) and whether it abstained.</summary>
public sealed record GeneratedSequence(List<int> Tokens, bool Abstained);

public sealed class Generator
{
    private readonly TransformerModel model;

    public Generator(TransformerModel model) => this.model = model;

    /// <summary>The new tokens of each sequence (GenerateSequences without the abstention verdicts).</summary>
    public List<int>[] Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, Func<int, int, IReadOnlyList<int>, bool>? onToken = null, CancellationToken cancel = default) =>
        GenerateSequences(prompts, options, onToken, cancel).Select(g => g.Tokens).ToArray();

    /// <summary>
    /// Generates continuations. onToken(sequence, token, generatedSoFar) is called for every new
    /// token that neither ends the sequence nor comes from a pass that abstained, and returns true
    /// to stop that sequence (stop strings, streaming consumers).
    /// </summary>
    public GeneratedSequence[] GenerateSequences(IReadOnlyList<int[]> prompts, GenerationOptions options, Func<int, int, IReadOnlyList<int>, bool>? onToken = null, CancellationToken cancel = default)
    {
        if (prompts.Count == 0) return Array.Empty<GeneratedSequence>();
        if (prompts.Any(p => p.Length == 0)) throw new LetheException("a prompt has no tokens; give at least one (for example the BOS token)");
        if (options.MaxNewTokens < 0) throw LetheException.About($"max_new_tokens must be ≥ 0, got {options.MaxNewTokens}", "max_new_tokens");
        int B = prompts.Count, P = prompts.Max(p => p.Length);
        int capacity = P + options.MaxNewTokens;
        if (capacity > model.Config.MaxPositions && (model.Config.RotaryDim > 0 || model.Config.LearnedPositions))
            throw LetheException.About($"prompt ({P} tokens) + max_new_tokens ({options.MaxNewTokens}) exceed the model's {model.Config.MaxPositions} positions", "max_new_tokens");
        var eos = (options.EosIds ?? model.Config.EosTokenIds).ToHashSet();
        var intervention = options.Intervention;
        var hooks = intervention is null ? options.Hooks : options.Hooks is null ? intervention.Hooks : new HookSet().Include(options.Hooks).Include(intervention.Hooks);
        intervention?.Begin(B);
        var keys = prompts.Select(p => PassLayout.KeyOf(p)).ToArray();
        var keyStart = prompts.Select(p => P - p.Length).ToArray();
        var ids = new int[B * P];
        Array.Fill(ids, options.PadId);
        for (int b = 0; b < B; b++) prompts[b].CopyTo(ids, b * P + keyStart[b]);

        var samplers = Enumerable.Range(0, B).Select(b => new Sampler(options.Sampling with { Seed = options.Sampling.Seed + (ulong)b })).ToArray();
        var outputs = Enumerable.Range(0, B).Select(_ => new List<int>()).ToArray();
        var history = prompts.Select(p => new List<int>(p)).ToArray();
        var abstained = new bool[B];
        using var cache = new KvCache(model.Config, B, Math.Max(1, capacity));
        using var arena = new TensorArena();
        using var noGrad = Tape.NoGrad();
        // active[r]: the sequence in row r of the batch; it shrinks as sequences finish.
        var active = Enumerable.Range(0, B).ToArray();
        int[] step = ids; int T = P;
        for (int t = 0; t < options.MaxNewTokens && active.Length > 0; t++)
        {
            cancel.ThrowIfCancellationRequested();
            int R = active.Length;
            var rowStart = active.Select(s => keyStart[s]).ToArray();
            intervention?.SetPass(new PassLayout(R, T, active, rowStart.Select(k => cache.Length - k).ToArray(), active.Select(s => keys[s]).ToArray()));
            var rows = Enumerable.Range(0, R).Select(r => r * T + T - 1).ToArray();
            float[] logits;
            using (arena.Activate())
                logits = model.Forward(step, R, new ForwardOptions { Cache = cache, KeyStart = rowStart, LogitRows = rows, Hooks = hooks }).ToArray();
            arena.Reset();
            int vocab = logits.Length / R;
            var keep = new List<int>(R);
            var next = new List<int>(R);
            for (int r = 0; r < R; r++)
            {
                int b = active[r];
                // The pass checked this sequence's newest position: a flag there ends it unanswered.
                if (intervention is not null && intervention.Flagged(b)) { abstained[b] = true; continue; }
                int token = samplers[b].Next(logits.AsSpan(r * vocab, vocab), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(history[b]));
                history[b].Add(token);
                if (eos.Contains(token)) continue;
                outputs[b].Add(token);
                if (onToken?.Invoke(b, token, outputs[b]) == true) continue;
                keep.Add(r); next.Add(token);
            }
            if (keep.Count < R) cache.Keep(keep.ToArray());
            active = keep.Select(r => active[r]).ToArray();
            step = next.ToArray(); T = 1;
        }
        return Enumerable.Range(0, B).Select(b => new GeneratedSequence(outputs[b], abstained[b])).ToArray();
    }
}

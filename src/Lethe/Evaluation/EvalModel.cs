// A model as the task runners see it: the transformer, its tokenizer, an optional intervention
// (Models/Generation/Intervention.cs: activation edits, abstention, or both), and the batched
// primitives every task is built from:
//  - Generate: greedy continuations of many prompts, BatchSize at a time (prompts sorted by length
//    so a batch pads little), each stopped at the first stop string, an end-of-sequence token or
//    the token limit; an abstaining sequence's answer is replaced by RefusalText. The Generator
//    latches each sequence's verdict when it finishes, so scores do not depend on BatchSize.
//  - Abstains: whether the intervention abstains on each prompt at its last token (scoring tasks
//    ask it before they score, so an abstained question counts wrong there as well).
//  - NextTokenLogProbs: log-probabilities of candidate next tokens after each prompt (multiple
//    choice: one forward per question instead of one per option).
//  - Score: log-probabilities of continuations (answer probability, perplexity).
// Prompts longer than the model's context are cut from the left (the question and the answer cue
// are at the end), keeping a leading BOS; the number of cut prompts is reported by the tasks. In
// generation a prompt keeps everything but the room reserved for the answer — the task's token
// limit, at most half the context — and a batch then generates up to the task's limit or the end of
// the context, whichever comes first (a code task's 512-token limit on a 512-position model must not
// cut every prompt to nothing).
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;
using Lethe.Tokenizers;

namespace Lethe.Evaluation;

/// <summary>One generated answer. Abstained: the abstention triggered and Text is the refusal. Truncated: the prompt was cut to fit the context.</summary>
public sealed record Completion(string Text, bool Abstained, bool Truncated);

public sealed class EvalModel
{
    public TransformerModel Model { get; }
    public Tokenizer Tokenizer { get; }
    public string Name { get; }
    /// <summary>Acts in every forward pass (generation and scoring); when it can abstain, generation and Abstains ask it.</summary>
    public InferenceIntervention? Intervention { get; init; }
    /// <summary>The answer recorded for an abstained item.</summary>
    public string RefusalText => Intervention is { CanAbstain: true } i ? i.Refusal : InferenceIntervention.DefaultRefusal;
    /// <summary>Sequences per forward pass.</summary>
    public int BatchSize { get; init; } = 8;

    public EvalModel(TransformerModel model, Tokenizer tokenizer, string name)
    {
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new LetheException($"{tokenizer.Source}: the tokenizer has {tokenizer.VocabSize} tokens but the model {name} only {model.Config.VocabSize}; they do not belong together");
        Model = model; Tokenizer = tokenizer; Name = name;
    }

    /// <summary>The longest sequence the model takes (prompt plus continuation).</summary>
    public int ContextLimit => Math.Max(2, Model.Config.MaxPositions);

    private int? Bos => Model.Config.BosTokenId;

    /// <summary>A prompt's ids, with the tokenizer's special tokens (BOS for most models).</summary>
    public int[] EncodePrompt(string prompt)
    {
        var ids = Tokenizer.Encode(prompt, addSpecialTokens: true);
        if (ids.Length == 0) ids = Bos is int b ? new[] { b } : throw new LetheException($"{Name}: a prompt encodes to no tokens and the model has no BOS token");
        return ids;
    }

    /// <summary>A continuation's ids (no special tokens).</summary>
    public int[] EncodeContinuation(string text) => Tokenizer.Encode(text, addSpecialTokens: false);

    /// <summary>The last `keep` ids of a prompt, keeping a leading BOS; truncated says whether anything was cut.</summary>
    public int[] FitLeft(int[] ids, int keep, out bool truncated)
    {
        keep = Math.Max(1, keep);
        truncated = ids.Length > keep;
        if (!truncated) return ids;
        bool bosFirst = Bos is int b && ids[0] == b && keep > 1;
        var kept = new int[keep];
        if (bosFirst) { kept[0] = ids[0]; Array.Copy(ids, ids.Length - (keep - 1), kept, 1, keep - 1); }
        else Array.Copy(ids, ids.Length - keep, kept, 0, keep);
        return kept;
    }

    /// <summary>The intervention's hooks for one scoring pass over these right-padded sequences of T positions (null without one).</summary>
    private HookSet? ScoringHooks(IReadOnlyList<int[]> contexts, int T)
    {
        if (Intervention is null) return null;
        Intervention.BeginScoring(contexts, T);
        return Intervention.Hooks;
    }

    /// <summary>Batches of indices into items, longest first, so each batch pads little; results go back by index.</summary>
    private IEnumerable<int[]> Batches(IReadOnlyList<int> lengths)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        int size = Math.Max(1, BatchSize);
        for (int start = 0; start < order.Length; start += size) yield return order[start..Math.Min(order.Length, start + size)];
    }

    /// <summary>
    /// Greedy continuations of the prompts. Each stops at the first stop string (not included), an
    /// end-of-sequence token or maxNewTokens; onDone(n) reports progress after each batch.
    /// </summary>
    public Completion[] Generate(IReadOnlyList<string> prompts, int maxNewTokens, IReadOnlyList<string> stops, Action<int>? onDone = null, CancellationToken cancel = default)
    {
        if (maxNewTokens < 1) throw new LetheException($"{Name}: a generation task needs at least 1 new token, got {maxNewTokens}");
        int maxNew = Math.Min(maxNewTokens, ContextLimit - 1);
        int reserved = Math.Min(maxNew, Math.Max(1, ContextLimit / 2));
        var truncated = new bool[prompts.Count];
        var ids = prompts.Select((p, i) => FitLeft(EncodePrompt(p), ContextLimit - reserved, out truncated[i])).ToArray();
        var stopList = stops.Where(s => s.Length > 0).ToArray();
        var results = new Completion[prompts.Count];
        var generator = new Generator(Model);
        foreach (var batch in Batches(ids.Select(x => x.Length).ToArray()))
        {
            int room = Math.Min(maxNew, ContextLimit - batch.Max(i => ids[i].Length));
            var options = new GenerationOptions { MaxNewTokens = room, Intervention = Intervention };
            var outputs = generator.GenerateSequences(batch.Select(i => ids[i]).ToArray(), options, (_, _, generated) =>
            {
                if (stopList.Length == 0) return false;
                string text = Tokenizer.Decode(generated, skipSpecialTokens: true);
                return stopList.Any(s => text.Contains(s, StringComparison.Ordinal));
            }, cancel);
            for (int b = 0; b < batch.Length; b++)
            {
                bool abstained = outputs[b].Abstained;
                string text = abstained ? RefusalText : CutAtStop(Tokenizer.Decode(outputs[b].Tokens, skipSpecialTokens: true), stopList);
                results[batch[b]] = new Completion(text, abstained, truncated[batch[b]]);
            }
            onDone?.Invoke(batch.Length);
        }
        return results;
    }

    private static string CutAtStop(string text, IReadOnlyList<string> stops)
    {
        int cut = text.Length;
        foreach (var s in stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && at < cut) cut = at;
        }
        return text[..cut];
    }

    /// <summary>Whether the intervention abstains on each prompt (checked at its last token); all false without one that can abstain.</summary>
    public bool[] Abstains(IReadOnlyList<int[]> prompts, CancellationToken cancel = default)
    {
        var result = new bool[prompts.Count];
        if (Intervention is not { CanAbstain: true }) return result;
        var generator = new Generator(Model);
        var fitted = prompts.Select(p => FitLeft(p, ContextLimit - 1, out _)).ToArray();
        foreach (var batch in Batches(fitted.Select(p => p.Length).ToArray()))
        {
            var outputs = generator.GenerateSequences(batch.Select(i => fitted[i]).ToArray(), new GenerationOptions { MaxNewTokens = 1, Intervention = Intervention }, null, cancel);
            for (int b = 0; b < batch.Length; b++) result[batch[b]] = outputs[b].Abstained;
        }
        return result;
    }

    /// <summary>
    /// For each prompt, the log-probabilities of the candidate tokens as the next token:
    /// result[i][k] = log p(candidates[k] | prompts[i]). Prompts are right-padded (causal attention
    /// never looks right, so padding does not change earlier positions).
    /// </summary>
    public float[][] NextTokenLogProbs(IReadOnlyList<int[]> prompts, IReadOnlyList<int> candidates, Action<int>? onDone = null)
    {
        // Room for the one candidate token, exactly as continuation scoring cuts a context: both paths see the same prompt.
        var fitted = prompts.Select(p => FitLeft(p, ContextLimit - 1, out _)).ToArray();
        var result = new float[prompts.Count][];
        using var arena = new TensorArena();
        using var noGrad = Tape.NoGrad();
        foreach (var batch in Batches(fitted.Select(p => p.Length).ToArray()))
        {
            int B = batch.Length, T = batch.Max(i => fitted[i].Length);
            var ids = new int[B * T];
            var rows = new int[B];
            for (int b = 0; b < B; b++)
            {
                fitted[batch[b]].CopyTo(ids, b * T);
                rows[b] = b * T + fitted[batch[b]].Length - 1;
            }
            using (arena.Activate())
            {
                var logProbs = Op.LogSoftmax(Model.Forward(ids, B, new ForwardOptions { LogitRows = rows, Hooks = ScoringHooks(batch.Select(i => fitted[i]).ToArray(), T) }));
                var lp = logProbs.AsReadOnlySpan();
                int vocab = logProbs.Dim(1);
                for (int b = 0; b < B; b++)
                {
                    var picked = new float[candidates.Count];
                    for (int k = 0; k < picked.Length; k++) picked[k] = lp[b * vocab + candidates[k]];
                    result[batch[b]] = picked;
                }
            }
            arena.Reset();
            onDone?.Invoke(B);
        }
        return result;
    }

    /// <summary>Per-token log-probabilities of each continuation after its context; contexts are cut from the left to fit.</summary>
    public ContinuationScore[] Score(IReadOnlyList<(int[] context, int[] continuation)> pairs, Action<int>? onDone = null)
    {
        var fitted = pairs.Select(p =>
        {
            if (p.continuation.Length >= ContextLimit)
                throw new LetheException($"{Name}: a scored continuation has {p.continuation.Length} tokens, more than the model's context of {ContextLimit}; split it");
            return (FitLeft(p.context, ContextLimit - p.continuation.Length, out _), p.continuation);
        }).ToArray();
        var result = new ContinuationScore[pairs.Count];
        using var arena = new TensorArena();
        using var noGrad = Tape.NoGrad();
        foreach (var batch in Batches(fitted.Select(p => p.Item1.Length + p.continuation.Length).ToArray()))
        {
            ContinuationScore[] scores;
            using (arena.Activate())
            {
                var chunk = batch.Select(i => fitted[i]).ToArray();
                int T = chunk.Max(p => p.Item1.Length + p.continuation.Length) - 1;
                scores = Scorer.Score(Model, chunk, 0, ScoringHooks(chunk.Select(p => p.Item1).ToArray(), T));
            }
            arena.Reset();
            for (int b = 0; b < batch.Length; b++) result[batch[b]] = scores[b];
            onDone?.Invoke(batch.Length);
        }
        return result;
    }
}

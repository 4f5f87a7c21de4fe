// Concept vectors (ConceptVectors, Hong et al. 2024; methods.md §2.2): the value vectors whose
// vocabulary projection is about a concept. A concept's tokens are the tokens of its name and of its
// gold answers when it has them (each word with and without a leading space; pieces of fewer than two
// characters are left out as too generic). Every value vector of every layer is projected onto the
// vocabulary (ValueVectors), its logits standardised over the vocabulary (z = (z − mean) / std), and
// it is scored by the mean z of the concept's tokens — how strongly it promotes them relative to
// the rest of the vocabulary; the count of concept tokens among its top K tokens is reported too.
// Validation (ConceptVectors' check that a vector is causal): add Gaussian noise to the vector and
// measure the concept's questions and unrelated questions, against the unperturbed model's own
// greedy answers: the mean log-probability of those answers (teacher-forced) and the share of
// questions whose greedy answer is unchanged. Noise can go to the best vector alone (ConceptVectors)
// or to the best few together; the same noise on as many random value vectors of the same layers is
// the control.
using Lethe.Data.Readers;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tokenizers;

namespace Lethe.Analysis;

public sealed record ConceptVectorCandidate(string Concept, int Layer, int Dim, double Score, int TopHits, IReadOnlyList<TokenScore> Top);

/// <summary>Answer log-probability (mean per token) and unchanged-answer share, before and after noise, for one question set.</summary>
public sealed record QaShift(int Questions, double LogProbBefore, double LogProbAfter, double Unchanged);

/// <summary>The noise test: the located vectors, the mean noise std used, and the shifts for them and for random control vectors of the same layers.</summary>
public sealed record NoiseValidation(IReadOnlyList<(int Layer, int Dim)> Vectors, double NoiseStd, QaShift Concept, QaShift Unrelated,
    IReadOnlyList<(int Layer, int Dim)> Controls, QaShift ControlConcept, QaShift ControlUnrelated);

public static class ConceptVectorSearch
{
    public static HashSet<int> ConceptTokens(Tokenizer tokenizer, ConceptItem c)
    {
        var words = c.Concept.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (c.HasGoldAnswers) words.AddRange(c.Questions.SelectMany(q => q.Answer.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        var first = new HashSet<int>();
        foreach (var w in words.Select(w => w.Trim('.', ',', '?', '!', '"', '\'', '(', ')')).Where(w => w.Length > 0).Distinct())
            foreach (var text in new[] { w, " " + w })
            {
                // The word's first piece only: later pieces of a split word ("as", "ury") are shared by
                // countless words and would reward vectors that promote generic fragments.
                var pieces = tokenizer.Encode(text);
                if (pieces.Length > 0) first.Add(pieces[0]);
            }
        var ids = first.Where(id => tokenizer.Decode(new[] { id }).Trim().Length >= 2).ToHashSet();
        // A character-level vocabulary has no longer pieces: keep the first characters then.
        if (ids.Count == 0) ids = first;
        if (ids.Count == 0) throw new LetheException($"{c.Place}: concept '{c.Concept}' gives no token to search for");
        return ids;
    }

    /// <summary>The best value vectors for each concept (best first), searching every layer.</summary>
    public static Dictionary<string, List<ConceptVectorCandidate>> Search(TransformerModel m, Tokenizer tokenizer, IReadOnlyList<ConceptItem> concepts,
        int candidates = 5, int topK = 20, Action<int>? onLayer = null)
    {
        var tokens = concepts.Select(c => ConceptTokens(tokenizer, c).ToArray()).ToArray();
        var best = concepts.Select(_ => new List<(double score, int layer, int dim, int hits, float[] logits)>()).ToArray();
        int ff = m.Config.IntermediateSize, vocab = m.Config.VocabSize;
        const int chunk = 256;
        for (int layer = 0; layer < m.Config.NumLayers; layer++)
        {
            for (int from = 0; from < ff; from += chunk)
            {
                int count = Math.Min(chunk, ff - from);
                var logits = ValueVectors.Project(m, layer, from, count);
                Parallel.For(0, count, j =>
                {
                    var row = logits.AsSpan(j * vocab, vocab);
                    double mean = 0, sq = 0;
                    foreach (float v in row) { mean += v; sq += (double)v * v; }
                    mean /= vocab;
                    double std = Math.Sqrt(Math.Max(1e-30, sq / vocab - mean * mean));
                    int[]? top = null;
                    for (int c = 0; c < concepts.Count; c++)
                    {
                        double s = 0;
                        foreach (int id in tokens[c]) s += (row[id] - mean) / std;
                        s /= tokens[c].Length;
                        lock (best[c])
                        {
                            if (best[c].Count >= candidates && s <= best[c][^1].score) continue;
                            top ??= ValueVectors.TopIds(row, topK);
                            int hits = top.Count(tokens[c].Contains);
                            best[c].Add((s, layer, from + j, hits, row.ToArray()));
                            best[c].Sort((a, b) => b.score.CompareTo(a.score) != 0 ? b.score.CompareTo(a.score) : (a.layer, a.dim).CompareTo((b.layer, b.dim)));
                            if (best[c].Count > candidates) best[c].RemoveAt(best[c].Count - 1);
                        }
                    }
                });
            }
            onLayer?.Invoke(layer + 1);
        }
        return concepts.Select((c, i) => (c.Concept, list: best[i].Select(b => new ConceptVectorCandidate(c.Concept, b.layer, b.dim, b.score, b.hits,
            ValueVectors.Top(b.logits, topK, tokenizer))).ToList())).ToDictionary(x => x.Concept, x => x.list);
    }

    /// <summary>
    /// Adds N(0, (noise · RMS(v))²) to each located vector v (column dim of its layer's down_proj) at
    /// once, then the same to as many random control columns of the same layers, measuring both
    /// question sets each time; the weights are put back afterwards.
    /// </summary>
    public static NoiseValidation Validate(TransformerModel writable, Tokenizer tokenizer, IReadOnlyList<string> conceptQuestions, IReadOnlyList<string> unrelated,
        IReadOnlyList<(int layer, int dim)> vectors, double noise = 5, ulong seed = 1, int answerTokens = 12)
    {
        if (unrelated.Count == 0) throw new LetheException("validating a concept vector needs unrelated questions (\"unrelated_QA\" or other concepts' questions)");
        var conceptSet = AnswerSet.Build(writable, tokenizer, conceptQuestions, answerTokens);
        var unrelatedSet = AnswerSet.Build(writable, tokenizer, unrelated, answerTokens);
        var rng = new Rng(seed);
        var controls = new List<(int layer, int dim)>();
        foreach (var (layer, _) in vectors)
        {
            int c;
            do c = rng.NextInt(writable.Config.IntermediateSize); while (vectors.Contains((layer, c)) || controls.Contains((layer, c)));
            controls.Add((layer, c));
        }
        var (c1, u1, std) = WithNoise(writable, tokenizer, vectors, noise, rng, conceptSet, unrelatedSet, answerTokens);
        var (c2, u2, _) = WithNoise(writable, tokenizer, controls, noise, rng, conceptSet, unrelatedSet, answerTokens);
        return new NoiseValidation(vectors, std, c1, u1, controls, c2, u2);
    }

    private static (QaShift concept, QaShift unrelated, double meanStd) WithNoise(TransformerModel m, Tokenizer tokenizer, IReadOnlyList<(int layer, int dim)> vectors,
        double noise, Rng rng, AnswerSet concept, AnswerSet unrelated, int answerTokens)
    {
        var before = (Score(m, concept), Score(m, unrelated));
        var saved = new List<(Tensor column, float[] values)>();
        double stdSum = 0;
        try
        {
            foreach (var (layer, dim) in vectors)
            {
                var down = ValueVectors.Down(m, layer);
                if (down.Storage.ReadOnly) throw new LetheException("the model's weights are memory-mapped read-only; load it writable to add noise to a value vector");
                var column = down.Narrow(1, dim, 1);
                var values = column.Contiguous().ToArray();
                saved.Add((column, values));
                double std = noise * Math.Sqrt(values.Select(x => (double)x * x).Average());
                stdSum += std;
                using var n = Tensor.Randn(new[] { values.Length }, rng, (float)std);
                var nv = n.ToArray();
                column.CopyFrom(values.Select((x, i) => x + nv[i]).ToArray());
            }
            return (Shift(m, tokenizer, concept, before.Item1, answerTokens), Shift(m, tokenizer, unrelated, before.Item2, answerTokens), stdSum / vectors.Count);
        }
        finally { foreach (var (column, values) in saved) column.CopyFrom(values); }
    }

    private static QaShift Shift(TransformerModel m, Tokenizer tokenizer, AnswerSet set, double before, int answerTokens)
    {
        var again = AnswerSet.Build(m, tokenizer, set.Items.Select(q => q.Question).ToList(), answerTokens);
        int same = set.Items.Count(q => again.Items.Any(a => a.Question == q.Question && a.Ids.SequenceEqual(q.Ids)));
        return new QaShift(set.Items.Count, before, Score(m, set), set.Items.Count == 0 ? 0 : (double)same / set.Items.Count);
    }

    /// <summary>Mean log-probability per answer token of the set's answers, teacher-forced.</summary>
    public static double Score(TransformerModel m, AnswerSet set) => Verification.ConfidenceOf(m, set).LogProb;
}

// The items of the demo world, one record type per file format. Each mirrors the real benchmark's
// schema (GSM8K, MBPP, MLQA as flattened by Hugging Face datasets, MMLU/WMDP, ConceptVectors/TOFU),
// so the readers and the evaluation treat demo files and real files alike.
namespace Lethe.Data.World;

/// <summary>GSM8K: the answer is a short worked solution ending in "#### N".</summary>
public sealed record MathProblem(string Question, string Answer)
{
    /// <summary>The number after "####".</summary>
    public string FinalAnswer => Answer[(Answer.LastIndexOf("####", StringComparison.Ordinal) + 4)..].Trim();
}

/// <summary>MBPP: a description, a reference solution and assert statements that it passes.</summary>
public sealed record PythonTask(int TaskId, string Text, string Code, IReadOnlyList<string> TestList, string TestSetupCode);

/// <summary>MLQA (flattened): one answer, a span of the context; AnswerStart counts code points.</summary>
public sealed record ComprehensionItem(string Id, string Context, string Question, string AnswerText, int AnswerStart);

/// <summary>MMLU / WMDP: four choices, Answer is the index (0 = A) of the right one.</summary>
public sealed record ChoiceItem(string Question, string Subject, IReadOnlyList<string> Choices, int Answer);

public sealed record QaPair(string Question, string Answer);

/// <summary>ConceptVectors / TOFU: a concept, its article (the source of its facts) and ten questions.</summary>
public sealed record ConceptRecord(string Concept, string Article, IReadOnlyList<QaPair> Qa);

/// <summary>
/// Disjoint train / probe / validation / test parts of one data set. Probe texts fit unlearning
/// methods; validation decides what is tuned (layers, probe text, α checks); test only scores.
/// </summary>
public sealed record Splits<T>(IReadOnlyList<T> Train, IReadOnlyList<T> Probe, IReadOnlyList<T> Test)
{
    public IReadOnlyList<T> Validation { get; init; } = Array.Empty<T>();

    /// <summary>
    /// Splits built from a held-out pool drawn at full size: the last max(25, 20 %) of the pool is
    /// the validation split, the rest the probe split; each is then cut to the size asked. The
    /// probe split of a small world stays a prefix of the full one, and the pool (hence every test
    /// and training item) is what it was before validation splits existed.
    /// </summary>
    public static Splits<T> FromProbePool(IReadOnlyList<T> train, IReadOnlyList<T> pool, IReadOnlyList<T> test, int probeCount, int testCount, int validationCount)
    {
        int v = Math.Min(pool.Count / 2, Math.Max(25, (int)Math.Round(0.2 * pool.Count)));
        return new Splits<T>(train, pool.Take(pool.Count - v).Take(probeCount).ToList(), test.Take(testCount).ToList())
        {
            Validation = pool.Skip(pool.Count - v).Take(validationCount).ToList(),
        };
    }
}

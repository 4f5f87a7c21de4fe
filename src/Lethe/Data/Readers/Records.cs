// The typed records the dataset readers return, one per skill. Each record keeps the place it was
// read from (file and line, or a JSON path) so a later problem with an item can name where it came
// from. Records hold exactly what evaluation and few-shot prompting need; fields a real data set
// has beyond those are ignored by the readers.
namespace Lethe.Data.Readers;

/// <summary>Where a record was read: "FILE:LINE" for line-based files, "FILE: data[0].paragraphs[2].qas[1]" for nested JSON.</summary>
public sealed record SourcePlace(string File, int Line, string? JsonPath = null)
{
    public override string ToString() => JsonPath is null ? (Line > 0 ? $"{File}:{Line}" : File) : Line > 0 ? $"{File}:{Line}: at {JsonPath}" : $"{File}: at {JsonPath}";
}

/// <summary>A GSM8K-style word problem. Answer is the whole worked solution (used for few-shot prompts); Gold is the number after "####".</summary>
public sealed record MathItem(string Question, string Answer, string Gold, SourcePlace Place);

/// <summary>
/// An MBPP-style programming problem: Text describes the function; Tests are assert statements;
/// SetupCode runs before the solution (imports, helpers); ChallengeTests are MBPP's extra tests;
/// ExtendedTestScript is MBPP+'s self-contained "test" script, run after the solution when present.
/// </summary>
public sealed record CodeProblem(string TaskId, string Text, string Code, IReadOnlyList<string> Tests, string SetupCode,
    IReadOnlyList<string> ChallengeTests, string? ExtendedTestScript, SourcePlace Place);

/// <summary>An extractive reading-comprehension question (MLQA/SQuAD). Answers holds every accepted gold answer.</summary>
public sealed record ComprehensionItem(string Id, string Title, string Context, string Question, IReadOnlyList<string> Answers,
    IReadOnlyList<int> AnswerStarts, SourcePlace Place);

/// <summary>A multiple-choice question (MMLU/WMDP). Answer is the index of the right choice; Subject may be empty.</summary>
public sealed record MultipleChoiceItem(string Question, string Subject, IReadOnlyList<string> Choices, int Answer, SourcePlace Place);

/// <summary>One question about a concept, with the gold answer ("" when the data set has none: ConceptVectors' own files).</summary>
public sealed record ConceptQuestion(string Question, string Answer);

/// <summary>A text-completion probe of ConceptVectors: a sentence of the article cut in two.</summary>
public sealed record TextCompletion(string FirstHalf, string SecondHalf);

/// <summary>
/// A concept (a person, a place...) with its article and its questions (ConceptVectors/TOFU style).
/// Layer/Dim: where ConceptVectors located its value vector (null when not given); UnrelatedQuestions:
/// questions about other things, to check that an edit keeps them; HasGoldAnswers: false when the
/// questions came without answers (then the original model's own answers are the reference).
/// </summary>
public sealed record ConceptItem(string Concept, string Article, IReadOnlyList<ConceptQuestion> Questions, SourcePlace Place)
{
    public int? Layer { get; init; }
    public int? Dim { get; init; }
    public IReadOnlyList<string> UnrelatedQuestions { get; init; } = Array.Empty<string>();
    public IReadOnlyList<TextCompletion> TextCompletions { get; init; } = Array.Empty<TextCompletion>();
    public bool HasGoldAnswers { get; init; } = true;
}

/// <summary>A document of plain text (a paragraph of a .txt file, or one {"text"} line of a corpus).</summary>
public sealed record TextDocument(string Text, SourcePlace Place);

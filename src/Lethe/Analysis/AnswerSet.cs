// The inputs of [S2]'s dissection: each question asked as "Question: {q}\n Answer:" (with the
// tokenizer's BOS), answered greedily by the ORIGINAL model for at most 30 new tokens (stopping at
// an end-of-sequence token, which is not part of the answer), and the answer then teacher-forced
// into every model. The scored rows of a sequence are exactly the positions whose logits predict
// the answer tokens: prompt length − 1 … prompt length + answer length − 2 (row t predicts token
// t + 1), no more and no fewer (the public code under-counts them; methods.md §2.2).
// Questions whose original answer is empty (an immediate end token) cannot be scored: they are
// skipped and counted. Each question is generated alone (batch 1), so an answer does not depend on
// which other questions were asked with it.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;

namespace Lethe.Analysis;

/// <summary>One teacher-forced sequence: prompt ids followed by the original model's answer ids.</summary>
public sealed record AnsweredQuestion(string Question, string Answer, int[] Ids, int PromptLength)
{
    public int AnswerLength => Ids.Length - PromptLength;

    /// <summary>The rows whose logits predict the answer tokens (row t predicts token t + 1).</summary>
    public int[] ScoredRows => Enumerable.Range(PromptLength - 1, AnswerLength).ToArray();
}

public sealed record AnswerSet(IReadOnlyList<AnsweredQuestion> Items, IReadOnlyList<string> SkippedEmpty, IReadOnlyList<string> SkippedTooLong)
{
    public const string Template = "Question: {q}\n Answer:";
    public const int DefaultAnswerTokens = 30;

    public static string Prompt(string question) => Template.Replace("{q}", question.Trim());

    /// <summary>The original model's greedy answers to the questions (one at a time).</summary>
    public static AnswerSet Build(TransformerModel original, Tokenizer tokenizer, IReadOnlyList<string> questions, int answerTokens = DefaultAnswerTokens,
        Action<int>? onDone = null)
    {
        if (answerTokens < 1) throw LetheException.About($"answer_tokens must be ≥ 1, got {answerTokens}", "answer_tokens");
        var generator = new Generator(original);
        var items = new List<AnsweredQuestion>();
        var empty = new List<string>(); var tooLong = new List<string>();
        for (int i = 0; i < questions.Count; i++)
        {
            var prompt = tokenizer.Encode(Prompt(questions[i]), addSpecialTokens: true);
            if (prompt.Length == 0 && original.Config.BosTokenId is int bos) prompt = new[] { bos };
            if (prompt.Length == 0 || prompt.Length + answerTokens > original.Config.MaxPositions) { tooLong.Add(questions[i]); onDone?.Invoke(i + 1); continue; }
            var answer = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = answerTokens })[0];
            if (answer.Count == 0) empty.Add(questions[i]);
            else items.Add(new AnsweredQuestion(questions[i].Trim(), Text(tokenizer, answer), prompt.Concat(answer).ToArray(), prompt.Length));
            onDone?.Invoke(i + 1);
        }
        return new AnswerSet(items, empty, tooLong);
    }

    /// <summary>The answer as text, for reports; ids past the tokenizer's vocabulary (a model may have padding rows) show as &lt;id N&gt;.</summary>
    private static string Text(Tokenizer tokenizer, List<int> ids) =>
        ids.All(id => id < tokenizer.VocabSize) ? tokenizer.Decode(ids, skipSpecialTokens: true) : string.Join("", ids.Select(id => id < tokenizer.VocabSize ? tokenizer.Decode(new[] { id }, skipSpecialTokens: true) : $"<id {id}>"));
}

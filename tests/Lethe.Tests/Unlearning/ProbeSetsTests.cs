// Probe files → texts, for every known schema; unknown schemas and bad lines name the file and line.
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class ProbeSetsTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"lethe-probes-{Guid.NewGuid():N}");

    public ProbeSetsTests() => Directory.CreateDirectory(dir);
    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string name, params string[] lines)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Fact]
    public void PromptTextsCarryTheirAnswersWhenEveryLineHasOne()
    {
        string path = Write("qa.jsonl",
            """{"question": "2+3?", "answer": "5\n#### 5"}""",
            """{"question": "Sky?", "subject": "s", "choices": ["red", "blue"], "answer": 1}""");
        var prompts = ProbeSets.Read(path, ProbeTextPart.Prompt);
        Assert.Equal(new[] { "2+3?", "Sky?\nA. red\nB. blue" }, prompts.Texts);
        Assert.Equal(new[] { "\n5\n#### 5", "\nAnswer: B" }, prompts.Answers);
        Assert.Null(ProbeSets.Read(path).Answers);                                   // full texts: nothing after them
        Assert.Null(ProbeSets.Read(Write("mixed.jsonl", """{"question": "2+3?", "answer": "5"}""", """{"text": "plain"}"""), ProbeTextPart.Prompt).Answers);
    }

    [Fact]
    public void KnownSchemasMapToTexts()
    {
        string path = Write("mixed.jsonl",
            """{"question": "2+3?", "answer": "5\n#### 5"}""",
            """{"task_id": 1, "text": "Add two numbers.", "code": "def f(a, b): return a + b", "test_list": []}""",
            """{"id": "x", "context": "Ana lives in Lima.", "question": "Where?", "answers": {"text": ["Lima"], "answer_start": [13]}}""",
            """{"question": "Sky?", "subject": "s", "choices": ["red", "blue"], "answer": 1}""",
            """{"prompt": "Say hi", "answer": "hi"}""",
            """{"concept": "Zorba", "article": "Zorba is a town.", "qa": []}""",
            "",
            """{"text": "plain"}""");
        var full = ProbeSets.Read(path);
        Assert.Equal(new[]
        {
            "2+3?\n5\n#### 5", "Add two numbers.\ndef f(a, b): return a + b", "Ana lives in Lima.\nWhere?\nLima",
            "Sky?\nA. red\nB. blue\nAnswer: B", "Say hi\nhi", "Zorba is a town.", "plain",
        }, full.Texts);
        Assert.Equal("concept+gsm8k+mbpp+mlqa+mmlu+prompt/answer+text", full.Schema);
        Assert.Equal(64, full.Sha256.Length);
        var prompts = ProbeSets.Read(path, ProbeTextPart.Prompt);
        Assert.Equal(new[] { "2+3?", "Add two numbers.", "Ana lives in Lima.\nWhere?", "Sky?\nA. red\nB. blue", "Say hi", "Zorba is a town.", "plain" }, prompts.Texts);
    }

    [Fact]
    public void PlainTextIsParagraphsOrLines()
    {
        Assert.Equal(new[] { "one", "two", "three" }, ProbeSets.Read(Write("lines.txt", "one", " two ", "three")).Texts);
        // A blank line (even holding spaces) makes the file paragraphs.
        Assert.Equal(new[] { "a b\nc", "d" }, ProbeSets.Read(Write("paras.txt", "a b", "c", "  ", "d")).Texts);
    }

    [Fact]
    public void BadFilesNameTheFileAndLine()
    {
        string unknown = Write("odd.jsonl", """{"text": "ok"}""", """{"foo": 1, "bar": 2}""");
        var e = Assert.Throws<LetheException>(() => ProbeSets.Read(unknown));
        Assert.Contains($"{unknown}:2", e.Message);
        Assert.Contains("foo, bar", e.Message);
        Assert.Contains("GSM8K", e.Message);
        Assert.Contains($"{Write("bad.jsonl", "{not json")}:1", Assert.Throws<LetheException>(() => ProbeSets.Read(Path.Combine(dir, "bad.jsonl"))).Message);
        Assert.Contains("empty", Assert.Throws<LetheException>(() => ProbeSets.Read(Write("empty.jsonl", """{"text": "  "}"""))).Message);
        Assert.Contains(".jsonl", Assert.Throws<LetheException>(() => ProbeSets.Read(Write("squad.json", "{}"))).Message);
        Assert.Contains("not found", Assert.Throws<LetheException>(() => ProbeSets.Read(Path.Combine(dir, "missing.txt"))).Message);
        Assert.Contains("no probe texts", Assert.Throws<LetheException>(() => ProbeSets.Read(Write("blank.txt", "", "  "))).Message);
    }
}

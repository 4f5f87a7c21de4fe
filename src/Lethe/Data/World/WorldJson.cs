// JSON Lines output for the world's files, written by hand so the bytes are fixed: compact objects,
// keys in the order of the real data sets' schemas, non-ASCII text kept as UTF-8 (readable Chinese,
// Arabic, Hindi), the same escapes as Lethe.IO.JsonText.
using System.Text;
using Lethe.IO;

namespace Lethe.Data.World;

internal sealed class JsonObjectWriter
{
    private readonly StringBuilder sb;
    private bool first = true;

    public JsonObjectWriter(StringBuilder sb) { this.sb = sb; sb.Append('{'); }

    private StringBuilder Key(string key)
    {
        if (!first) sb.Append(',');
        first = false;
        JsonText.AppendString(sb, key, asciiOnly: false);
        return sb.Append(':');
    }

    public JsonObjectWriter Str(string key, string value) { Key(key); JsonText.AppendString(sb, value, asciiOnly: false); return this; }
    public JsonObjectWriter Int(string key, long value) { Key(key).Append(value); return this; }
    public JsonObjectWriter Null(string key) { Key(key).Append("null"); return this; }
    public JsonObjectWriter Strs(string key, IEnumerable<string> values)
    {
        Key(key).Append('[');
        bool firstItem = true;
        foreach (var v in values)
        {
            if (!firstItem) sb.Append(',');
            firstItem = false;
            JsonText.AppendString(sb, v, asciiOnly: false);
        }
        sb.Append(']');
        return this;
    }
    public JsonObjectWriter Ints(string key, IEnumerable<long> values) { Key(key).Append('[').Append(string.Join(",", values)).Append(']'); return this; }
    public JsonObjectWriter Obj(string key, Action<JsonObjectWriter> body) { Key(key); var inner = new JsonObjectWriter(sb); body(inner); inner.End(); return this; }
    public JsonObjectWriter Objs<T>(string key, IEnumerable<T> items, Action<JsonObjectWriter, T> body)
    {
        Key(key).Append('[');
        bool firstItem = true;
        foreach (var item in items)
        {
            if (!firstItem) sb.Append(',');
            firstItem = false;
            var inner = new JsonObjectWriter(sb);
            body(inner, item);
            inner.End();
        }
        sb.Append(']');
        return this;
    }
    public void End() => sb.Append('}');
}

internal static class WorldJson
{
    private static string Line(Action<JsonObjectWriter> body)
    {
        var sb = new StringBuilder();
        var w = new JsonObjectWriter(sb);
        body(w);
        w.End();
        return sb.ToString();
    }

    public static string Math(MathProblem p) => Line(w => w.Str("question", p.Question).Str("answer", p.Answer));

    public static string Code(PythonTask t) => Line(w => w.Int("task_id", t.TaskId).Str("text", t.Text).Str("code", t.Code)
        .Strs("test_list", t.TestList).Str("test_setup_code", t.TestSetupCode));

    public static string Comprehension(ComprehensionItem c) => Line(w => w.Str("id", c.Id).Str("context", c.Context).Str("question", c.Question)
        .Obj("answers", a => a.Strs("text", new[] { c.AnswerText }).Ints("answer_start", new long[] { c.AnswerStart })));

    public static string Choice(ChoiceItem c) => Line(w => w.Str("question", c.Question).Str("subject", c.Subject).Strs("choices", c.Choices).Int("answer", c.Answer));

    public static string Text(string text) => Line(w => w.Str("text", text));

    public static string Concept(ConceptRecord c) => Line(w => w.Str("concept", c.Concept).Str("article", c.Article)
        .Objs("qa", c.Qa, (o, q) => o.Str("question", q.Question).Str("answer", q.Answer)));
}

// A conversation → prompt ids. With a chat_template in tokenizer_config.json the template renders it
// (its text already holds BOS and the like, so it is encoded without adding special tokens, as
// transformers does). A model without one (a base model, such as the shipped lethe-demo) gets
// Lethe's default format, the question/answer layout its demo-world training text uses:
//   system   → "{content}\n\n"
//   user     → "Question: {content}\nAnswer:"
//   assistant→ " {content}\n\n"
// encoded with the tokenizer's special tokens (BOS first); generation then continues after the last
// "Answer:". Under the default format "\nQuestion:" is a stop string, so a base model that goes on to
// invent the next question stops there.
using Lethe.Tokenizers;

namespace Lethe.Serving;

public static class ChatPrompt
{
    /// <summary>The stop strings the default format adds (none when the tokenizer has its own template).</summary>
    public static IReadOnlyList<string> DefaultStops(Tokenizer tokenizer) =>
        HasTemplate(tokenizer) ? Array.Empty<string>() : new[] { "\nQuestion:" };

    public static bool HasTemplate(Tokenizer tokenizer) => !string.IsNullOrEmpty(tokenizer.Config.ChatTemplate);

    public static int[] Encode(Tokenizer tokenizer, IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0) throw new LetheException("a chat needs at least one message");
        if (HasTemplate(tokenizer))
            return tokenizer.Encode(tokenizer.ApplyChatTemplate(messages), addSpecialTokens: false);
        return tokenizer.Encode(DefaultFormat(messages), addSpecialTokens: true);
    }

    /// <summary>The default format's text of a conversation (see the file header).</summary>
    public static string DefaultFormat(IReadOnlyList<ChatMessage> messages)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var m in messages)
            sb.Append(m.Role switch
            {
                "system" or "developer" => m.Content + "\n\n",
                "user" => $"Question: {m.Content}\nAnswer:",
                "assistant" => $" {m.Content}\n\n",
                _ => throw new LetheException($"a chat message has role '{m.Role}'; use system, developer, user or assistant"),
            });
        // The model answers after "Answer:"; a conversation that ends otherwise still asks for an answer.
        if (messages[^1].Role != "user") sb.Append("Answer:");
        return sb.ToString();
    }
}

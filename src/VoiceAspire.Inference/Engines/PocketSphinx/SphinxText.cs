using System.Text;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>Turns PocketSphinx hypotheses and segment words into plain text.</summary>
internal static class SphinxText
{
    /// <summary>
    /// Filler and noise tokens: &lt;s&gt;, &lt;/s&gt;, &lt;sil&gt;, [NOISE], [SPEECH], ++NOISE++ (older
    /// models), and anything empty.
    /// </summary>
    public static bool IsFiller(ReadOnlySpan<char> token) =>
        token.IsEmpty
        || (token[0] == '<' && token[^1] == '>')
        || (token[0] == '[' && token[^1] == ']')
        || (token.Length >= 2 && token.StartsWith("++") && token.EndsWith("++"));

    /// <summary>Removes the alternate-pronunciation marker: "read(2)" → "read".</summary>
    public static ReadOnlySpan<char> BaseWord(ReadOnlySpan<char> token)
    {
        if (token.Length < 3 || token[^1] != ')') return token;
        var open = token.LastIndexOf('(');
        if (open <= 0) return token;
        foreach (var c in token[(open + 1)..^1])
            if (!char.IsAsciiDigit(c)) return token;
        return open == token.Length - 2 ? token : token[..open];
    }

    /// <summary>Words of a hypothesis without fillers or markers, single-space separated ("" when none).</summary>
    public static string Clean(string? hypothesis)
    {
        if (string.IsNullOrWhiteSpace(hypothesis)) return "";
        var text = new StringBuilder(hypothesis.Length);
        foreach (var range in hypothesis.AsSpan().SplitAny(' ', '\t', '\n', '\r'))
        {
            var token = hypothesis.AsSpan()[range];
            if (IsFiller(token)) continue;
            var word = BaseWord(token);
            if (word.IsEmpty) continue;
            if (text.Length > 0) text.Append(' ');
            text.Append(word);
        }
        return text.ToString();
    }
}

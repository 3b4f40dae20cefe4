using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace VoiceAspire.Inference.Engines.SherpaKws;

/// <summary>
/// Keyword lines in sherpa-onnx's format, checked against the model's tokens before sherpa sees them: each line is
/// the keyword's tokens separated by spaces (for the shared zh model, pinyin initials and finals with tone marks,
/// e.g. "x iǎo m ǐ x iǎo m ǐ"), then optionally ":boost", "#threshold" and "@display-text". sherpa-onnx ends the
/// process on a token it does not know (exit(-1) while encoding keywords) and throws an uncaught C++ exception on a
/// ":"/"#" value that is not a number, so nothing unchecked may reach it.
/// </summary>
public sealed partial class SherpaKeywords
{
    public const int MaxLines = 100;
    public const int MaxTokensPerLine = 64;

    private readonly HashSet<string> _tokens;

    private SherpaKeywords(HashSet<string> tokens) => _tokens = tokens;

    /// <summary>The symbols of tokens.txt ("&lt;symbol&gt; &lt;id&gt;" per line).</summary>
    public static SherpaKeywords FromTokensFile(string tokensFile)
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(tokensFile, Encoding.UTF8))
        {
            var space = line.LastIndexOf(' ');
            if (space > 0) tokens.Add(line[..space]);
        }
        return new SherpaKeywords(tokens);
    }

    /// <summary>
    /// Checks <paramref name="text"/> (lines separated by newlines, or by '/' when <paramref name="slashSeparates"/>) and
    /// returns the lines to hand sherpa, newline-separated, with "#<paramref name="threshold"/>" added to lines that set
    /// none. Throws <see cref="FormatException"/> naming the line and the problem.
    /// </summary>
    public string Normalize(string text, bool slashSeparates, float? threshold = null)
    {
        var separators = slashSeparates ? new[] { '\n', '/' } : ['\n'];
        var lines = text.Replace("\r", "", StringComparison.Ordinal).Split(separators)
            .Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) throw new FormatException("No keyword given.");
        if (lines.Length > MaxLines) throw new FormatException($"At most {MaxLines} keywords; got {lines.Length}.");
        var output = new StringBuilder();
        for (var n = 0; n < lines.Length; n++)
        {
            var words = Whitespace().Split(lines[n]);
            var tokens = 0;
            var hasThreshold = false;
            foreach (var word in words)
            {
                // sherpa's order: a known token first, then the markers.
                if (_tokens.Contains(word))
                {
                    tokens++;
                    continue;
                }
                switch (word[0])
                {
                    case ':':
                        if (!TryNumber(word[1..], out var boost) || boost is < 0 or > 100)
                            throw Bad(n, lines[n], $"'{word}' is not a boost score (':' then a number from 0 to 100)");
                        break;
                    case '#':
                        if (!TryNumber(word[1..], out var t) || t is <= 0 or >= 1)
                            throw Bad(n, lines[n], $"'{word}' is not a trigger threshold ('#' then a number between 0 and 1)");
                        hasThreshold = true;
                        break;
                    case '@':
                        if (word.Length == 1) throw Bad(n, lines[n], "'@' must be followed by the keyword's display text (no spaces)");
                        break;
                    default:
                        throw Bad(n, lines[n], $"'{word}' is not a token of this model (see its tokens.txt; e.g. pinyin initials and finals with tones: \"x iǎo m ǐ\")");
                }
            }
            if (tokens == 0) throw Bad(n, lines[n], "it has no tokens");
            if (tokens > MaxTokensPerLine) throw Bad(n, lines[n], $"more than {MaxTokensPerLine} tokens");
            output.Append(string.Join(' ', words));
            if (threshold is { } th && !hasThreshold) output.Append(" #").Append(th.ToString("0.###", CultureInfo.InvariantCulture));
            output.Append('\n');
        }
        return output.ToString();
    }

    private static bool TryNumber(string s, out float value)
    {
        value = 0;
        return Number().IsMatch(s) && float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static FormatException Bad(int index, string line, string why) => new($"Keyword line {index + 1} ('{line}'): {why}.");

    [GeneratedRegex(@"[ \t\f\v]+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,6})?$")]
    private static partial Regex Number();
}

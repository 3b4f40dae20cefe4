using System.Globalization;
using System.Text.RegularExpressions;

namespace VoiceAspire.Api.Conversation;

/// <summary>
/// The agent that needs no model: keyword rules over the lower-cased transcript, tried in order,
/// with parameters pulled out by small patterns (a timer's duration, a reminder's text, a weather
/// location). Deterministic, so tests can pin what each phrase gives. Confidence says how specific
/// the match was: a pattern with a parameter scores higher than a bare keyword.
/// </summary>
public sealed partial class RuleBasedIntentRouter(TimeProvider time) : IConversationAgent
{
    public const string AgentName = "rules";

    private sealed record Rule(string Intent, bool Actionable, Func<string, Dictionary<string, string>?> Match, Func<Dictionary<string, string>, string> Respond);

    private readonly Rule[] _rules =
    [
        new("set_timer", true, TimerMatch, p => $"Timer set for {p["duration_seconds"]} seconds."),
        new("create_reminder", true, ReminderMatch, p => $"I will remind you to {p["task"]}."),
        new("get_weather", false, WeatherMatch,
            p => p.TryGetValue("location", out var where)
                ? $"I cannot look up the weather for {where} without a weather service."
                : "I cannot look up the weather without a weather service."),
        new("get_time", false, t => Has(t, "what time", "the time", "time is it") ? [] : null, _ => ""),
        new("get_date", false, t => Has(t, "what day", "the date", "today's date", "what date") ? [] : null, _ => ""),
        new("help", false, t => Has(t, "help", "what can you do") ? [] : null,
            _ => "You can ask me the time or the date, set a timer, or ask me to remind you of something."),
        new("greeting", false, t => Words(t).Overlaps(["hello", "hi", "hey", "morning", "evening"]) ? [] : null, _ => "Hello! How can I help?"),
        new("goodbye", false, t => Has(t, "goodbye", "bye", "see you", "good night") ? [] : null, _ => "Goodbye!"),
    ];

    public Task<ConversationReply> ReplyAsync(string transcript, IReadOnlyList<ConversationMessage> history, CancellationToken cancellationToken)
    {
        var text = transcript.Trim().ToLowerInvariant();
        foreach (var rule in _rules)
        {
            var parameters = rule.Match(text);
            if (parameters is null) continue;
            var confidence = parameters.Count > 0 ? 0.9 : 0.75;
            var response = rule.Intent switch
            {
                "get_time" => $"It is {time.GetLocalNow().ToString("HH:mm", CultureInfo.InvariantCulture)}.",
                "get_date" => $"Today is {time.GetLocalNow().ToString("dddd d MMMM yyyy", CultureInfo.InvariantCulture)}.",
                _ => rule.Respond(parameters),
            };
            return Task.FromResult(new ConversationReply(new Intent(rule.Intent, confidence, parameters, rule.Actionable), response, AgentName));
        }
        var unknown = new Intent(Intent.Unknown, 0.2, new Dictionary<string, string>(), false);
        var echo = text.Length == 0 ? "I did not hear anything." : $"I heard \"{transcript.Trim()}\", but I do not know how to help with that yet.";
        return Task.FromResult(new ConversationReply(unknown, echo, AgentName));
    }

    private static bool Has(string text, params string[] phrases) => phrases.Any(p => Regex.IsMatch(text, $@"\b{Regex.Escape(p)}\b"));

    private static HashSet<string> Words(string text) => [.. WordPattern().Matches(text).Select(m => m.Value)];

    private static Dictionary<string, string>? TimerMatch(string text)
    {
        if (!Has(text, "timer", "countdown")) return null;
        var m = DurationPattern().Match(text);
        if (!m.Success) return [];
        var amount = ParseNumber(m.Groups["n"].Value);
        if (amount is null) return [];
        var seconds = m.Groups["unit"].Value switch
        {
            var u when u.StartsWith("hour", StringComparison.Ordinal) => amount.Value * 3600,
            var u when u.StartsWith("minute", StringComparison.Ordinal) => amount.Value * 60,
            _ => amount.Value,
        };
        return new() { ["duration_seconds"] = seconds.ToString(CultureInfo.InvariantCulture) };
    }

    private static Dictionary<string, string>? ReminderMatch(string text)
    {
        var m = ReminderPattern().Match(text);
        return m.Success ? new() { ["task"] = m.Groups["task"].Value.Trim() } : null;
    }

    private static Dictionary<string, string>? WeatherMatch(string text)
    {
        if (!Has(text, "weather", "rain", "forecast", "temperature")) return null;
        var m = LocationPattern().Match(text);
        return m.Success ? new() { ["location"] = m.Groups["where"].Value.Trim() } : [];
    }

    private static readonly string[] SmallNumbers =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
         "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"];

    private static int? ParseNumber(string word)
    {
        if (int.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100_000) return n;
        var i = Array.IndexOf(SmallNumbers, word);
        return i >= 0 ? i : word switch { "thirty" => 30, "forty" => 40, "fifty" => 50, "sixty" => 60, "ninety" => 90, _ => null };
    }

    [GeneratedRegex(@"[a-z']+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"(?<n>\d+|[a-z]+)\s+(?<unit>seconds?|minutes?|hours?)\b")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"\bremind me (?:to |that |about )?(?<task>.+)$")]
    private static partial Regex ReminderPattern();

    [GeneratedRegex(@"\b(?:in|for|at)\s+(?<where>[a-z][a-z ]*?)(?:\s+(?:today|tomorrow|now|this week))?[?.!]*$")]
    private static partial Regex LocationPattern();
}

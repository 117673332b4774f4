using System.Globalization;

namespace RealTimeInference.LoadTest.Options;

/// <summary>Reads durations written as <c>10s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, or a bare number of seconds.</summary>
internal static class DurationParser
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var (number, unit) = Split(text.Trim());
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount) || amount < 0)
        {
            return false;
        }

        double? seconds = unit switch
        {
            "ms" => amount / 1000,
            "" or "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => null,
        };
        if (seconds is not { } s || s > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(s);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalSeconds >= 1 || value == TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.###}s")
            : string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###}ms");

    private static (string Number, string Unit) Split(string text)
    {
        var end = text.Length;
        while (end > 0 && char.IsAsciiLetter(text[end - 1]))
        {
            end--;
        }

        return (text[..end], text[end..].ToLowerInvariant());
    }
}

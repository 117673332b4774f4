using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Options;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Readings;

/// <summary>
/// Picks the model for a reading's context from <see cref="RoutingOptions.Rules"/>, in order, and for a
/// trace's from <see cref="RoutingOptions.Traces"/>, then those. The answer per (tool, chamber, recipe,
/// step) of a reading is remembered, up to <see cref="MaxRemembered"/> of them, so the rules are matched
/// once per context rather than once per reading.
/// </summary>
internal sealed class ContextRouter(IOptions<RoutingOptions> options)
{
    /// <summary>Contexts whose route is remembered; past it routes are still right, only matched each time.</summary>
    public const int MaxRemembered = 100_000;

    private static readonly string NoRoute = "";

    private readonly RouteRule[] _rules = [.. options.Value.Rules];
    private readonly RouteRule[] _traces = [.. options.Value.Traces];
    private readonly ConcurrentDictionary<(string Tool, string? Chamber, string? Recipe, string? Step), string> _routes = new();

    /// <summary>The model that scores readings of <paramref name="context"/>; null when no rule matches it.</summary>
    public string? Route(ReadingContext context)
    {
        var key = (context.ToolId, context.ChamberId, context.Recipe, context.Step);
        if (!_routes.TryGetValue(key, out var model))
        {
            model = Match(_rules, context) ?? NoRoute;
            if (_routes.Count < MaxRemembered)
            {
                _routes.TryAdd(key, model);
            }
        }

        return ReferenceEquals(model, NoRoute) ? null : model;
    }

    /// <summary>The model that scores a wafer's trace of <paramref name="context"/>: the first trace rule's, else the readings' rules'; null when none matches.</summary>
    public string? RouteTrace(ReadingContext context) => Match(_traces, context) ?? Route(context);

    /// <summary>Every problem with the rules, each naming its field; empty when they are usable.</summary>
    public static IEnumerable<string> Validate(RoutingOptions options) =>
        Validate(options.Rules, "Rules").Concat(Validate(options.Traces, "Traces"));

    private static IEnumerable<string> Validate(List<RouteRule> rules, string section)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            var model = rules[i].Model;
            if (string.IsNullOrWhiteSpace(model))
            {
                yield return $"Routing:{section}:{i}:Model is required.";
            }
            else if (Placeholders(model).FirstOrDefault(p => !Fields.ContainsKey(p)) is { } unknown)
            {
                yield return $"Routing:{section}:{i}:Model names {{{unknown}}}; a model name may use {{tool}}, {{chamber}}, {{recipe}} and {{step}}.";
            }
        }
    }

    private static readonly Dictionary<string, Func<ReadingContext, string?>> Fields = new(StringComparer.Ordinal)
    {
        ["tool"] = c => c.ToolId,
        ["chamber"] = c => c.ChamberId,
        ["recipe"] = c => c.Recipe,
        ["step"] = c => c.Step,
    };

    private static string? Match(RouteRule[] rules, ReadingContext context)
    {
        foreach (var rule in rules)
        {
            if (Matches(rule.Tool, context.ToolId) && Matches(rule.Chamber, context.ChamberId)
                && Matches(rule.Recipe, context.Recipe) && Matches(rule.Step, context.Step)
                && Fill(rule.Model, context) is { } model)
            {
                return model;
            }
        }

        return null;
    }

    /// <summary>The model name with its placeholders filled; null when the context lacks a field it names (the rule does not apply).</summary>
    private static string? Fill(string template, ReadingContext context)
    {
        if (!template.Contains('{', StringComparison.Ordinal))
        {
            return template;
        }

        var name = new StringBuilder(template);
        foreach (var placeholder in Placeholders(template).Distinct())
        {
            if (Fields[placeholder](context) is not { } value)
            {
                return null;
            }

            name.Replace("{" + placeholder + "}", value);
        }

        return name.ToString();
    }

    private static IEnumerable<string> Placeholders(string template)
    {
        for (var start = template.IndexOf('{', StringComparison.Ordinal); start >= 0; start = template.IndexOf('{', start + 1))
        {
            var end = template.IndexOf('}', start);
            if (end < 0)
            {
                yield break;
            }

            yield return template[(start + 1)..end];
        }
    }

    /// <summary>A left-out pattern or <c>*</c> matches anything; otherwise <c>*</c> matches any run of characters and the rest exactly.</summary>
    internal static bool Matches(string? pattern, string? value)
    {
        if (pattern is null or "*")
        {
            return true;
        }

        return value is not null && Glob(pattern, value);
    }

    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value)
    {
        var star = pattern.IndexOf('*');
        if (star < 0)
        {
            return pattern.SequenceEqual(value);
        }

        if (!value.StartsWith(pattern[..star]))
        {
            return false;
        }

        var rest = pattern[(star + 1)..];
        value = value[star..];
        for (var skip = 0; skip <= value.Length; skip++)
        {
            if (Glob(rest, value[skip..]))
            {
                return true;
            }
        }

        return false;
    }
}

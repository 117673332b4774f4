using System.Buffers;
using System.Text.Json;
using RealTimeInference.Fab.Process;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Yield;

/// <summary>
/// Reads <c>/predict-yield</c> bodies: one process state (an object with every <see cref="YieldFeatures.Names"/>
/// field as a number) or an array of them. Every field at fault is named (<c>[i].field</c> in an array).
/// </summary>
internal static class YieldStateJson
{
    private const int MaxChamberAge = 10_000_000;

    /// <summary>Parses <paramref name="body"/> into <paramref name="states"/>; <paramref name="isArray"/> says which shape it had.</summary>
    public static RequestErrors? Parse(in ReadOnlySequence<byte> body, List<ProcessState> states, int maxStates, out bool isArray)
    {
        isArray = false;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 8 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            return RequestErrors.One("$", $"The body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                return Read(root, "", states);
            }

            if (root.ValueKind != JsonValueKind.Array)
            {
                return RequestErrors.One("$", "The body must be a process state (a JSON object) or an array of them.");
            }

            isArray = true;
            var count = root.GetArrayLength();
            if (count == 0)
            {
                return RequestErrors.One("$", "The array holds no process state.");
            }

            if (count > maxStates)
            {
                return RequestErrors.TooLarge("$", $"The array holds {count} process states; at most {maxStates} are accepted (Yield:MaxStates).");
            }

            RequestErrors? errors = null;
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                if (Read(element, $"[{index++}].", states) is { } bad)
                {
                    foreach (var error in bad.Errors)
                    {
                        RequestErrors.Add(ref errors, error.Field, error.Message);
                    }
                }
            }

            return errors;
        }
    }

    private static RequestErrors? Read(JsonElement element, string prefix, List<ProcessState> states)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return RequestErrors.One(prefix.Length == 0 ? "$" : prefix.TrimEnd('.'), "A process state must be a JSON object.");
        }

        RequestErrors? errors = null;
        Span<double> values = stackalloc double[YieldFeatures.Count];
        for (var i = 0; i < YieldFeatures.Count; i++)
        {
            var name = YieldFeatures.Names[i];
            var field = prefix + name;
            if (!element.TryGetProperty(name, out var value))
            {
                RequestErrors.Add(ref errors, field, $"{name} is required.");
            }
            else if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out values[i]) || !double.IsFinite(values[i]))
            {
                RequestErrors.Add(ref errors, field, $"{name} must be a finite number.");
            }
            else if (Check(name, values[i]) is { } message)
            {
                RequestErrors.Add(ref errors, field, message);
            }
        }

        if (errors is null)
        {
            states.Add(new ProcessState(
                new Setpoints(values[0], values[1], values[2]),
                values[3],
                new SensorStats((float)values[4], (float)values[5], (float)values[6], (float)values[7], (float)values[8], (float)values[9])));
        }

        return errors;
    }

    /// <summary>A process-state field's own limits, beyond being a finite number; null when <paramref name="value"/> is within them.</summary>
    /// <param name="name">The field (<see cref="YieldFeatures.Names"/>).</param>
    /// <param name="value">Its value.</param>
    internal static string? Check(string name, double value) => name switch
    {
        "chamber_age" when value is < 0 or > MaxChamberAge => $"chamber_age must be within 0..{MaxChamberAge} wafers.",
        "temperature_sd" or "pressure_sd" or "flow_sd" when value < 0 => $"{name} must not be negative.",
        _ when Math.Abs(value) > float.MaxValue => $"{name} is out of range.",
        _ => null,
    };
}

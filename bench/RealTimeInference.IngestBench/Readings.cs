using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.IngestBench;

/// <summary>Message bodies of sensor readings around a nominal recipe, from a seed, so no two readings repeat exactly.</summary>
internal static class Readings
{
    public const int Tools = 10;
    public const int Sensors = 4;

    /// <summary><paramref name="count"/> bodies of <paramref name="readingsPerMessage"/> readings: one JSON object for one reading, else an array.</summary>
    public static byte[][] Bodies(int readingsPerMessage, int count, int seed)
    {
        var random = new Random(seed);
        var bodies = new byte[count][];
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Clear();
            if (readingsPerMessage == 1)
            {
                Append(text, random, i);
            }
            else
            {
                text.Append('[');
                for (var r = 0; r < readingsPerMessage; r++)
                {
                    if (r > 0)
                    {
                        text.Append(',');
                    }

                    Append(text, random, (i * readingsPerMessage) + r);
                }

                text.Append(']');
            }

            bodies[i] = Encoding.UTF8.GetBytes(text.ToString());
        }

        return bodies;
    }

    /// <summary>The tool and sensor of body <paramref name="index"/> of one-reading bodies.</summary>
    public static (string Tool, string Sensor) Source(int index) =>
        ($"tool-{index % Tools:00}", $"s-{(index / Tools % Sensors) + 1}");

    /// <summary>The top-level <c>message_id</c> of a JSON result, or null.</summary>
    public static string? MessageId(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            var depth = 0;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        depth++;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        depth--;
                        break;
                    case JsonTokenType.PropertyName when depth == 1 && reader.ValueTextEquals("message_id"u8):
                        reader.Read();
                        return reader.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: no id.
        }

        return null;
    }

    private static void Append(StringBuilder text, Random random, int index)
    {
        var (tool, sensor) = Source(index);
        text.Append(CultureInfo.InvariantCulture, $$"""{"temperature":{{350 + Noise(random, 5):0.###}},"pressure":{{1013 + Noise(random, 8):0.###}},"flow_rate":{{100 + Noise(random, 3):0.###}},"tool_id":"{{tool}}","sensor_id":"{{sensor}}"}""");
    }

    private static double Noise(Random random, double scale) => ((random.NextDouble() * 2) - 1) * scale;
}

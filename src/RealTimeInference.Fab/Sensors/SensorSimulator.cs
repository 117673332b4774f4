namespace RealTimeInference.Fab.Sensors;

/// <summary>
/// Deterministic stream of chamber readings per tool and sensor: temperature ~ N(350, 5) °C,
/// pressure ~ N(1013, 10) mbar, flow rate ~ N(100, 2) sccm, with labelled anomaly episodes.
/// The same seed gives the same readings, so training data and the live stream agree. A tool's
/// recipe setpoints (<see cref="SetMeans"/>) move its readings' means; the random draws do not
/// depend on them, so two runs that differ only in setpoints see the same noise and episodes.
/// </summary>
public sealed class SensorSimulator
{
    public const float TemperatureMean = 350f, TemperatureSd = 5f;
    public const float PressureMean = 1013f, PressureSd = 10f;
    public const float FlowMean = 100f, FlowSd = 2f;

    private static readonly AnomalyKind[] Kinds =
        [AnomalyKind.Spike, AnomalyKind.Drift, AnomalyKind.StuckAtRail, AnomalyKind.FlowBlockage, AnomalyKind.PressureLeak];

    private readonly SensorSimulatorOptions _options;
    private readonly Random _random;
    private readonly Channel[] _channels;
    private readonly float[] _means;
    private long _tick;

    public SensorSimulator(SensorSimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Tools, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SensorsPerTool, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Interval, TimeSpan.Zero);
        // NaN fails every comparison, so the range pattern alone would let it through.
        if (double.IsNaN(options.AnomalyRate) || options.AnomalyRate is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "AnomalyRate must be within [0, 1].");
        }

        _options = options;
        _random = new Random(options.Seed);
        _channels = new Channel[options.Tools * options.SensorsPerTool];
        _means = new float[options.Tools * 3];
        for (var t = 0; t < options.Tools; t++)
        {
            SetMeans(t, TemperatureMean, PressureMean, FlowMean);
            for (var s = 0; s < options.SensorsPerTool; s++)
            {
                _channels[(t * options.SensorsPerTool) + s] = new Channel(ToolId(t), $"sensor-{s + 1:D2}", t);
            }
        }
    }

    /// <summary>The name of tool <paramref name="tool"/> (0-based), as its readings carry it.</summary>
    public static string ToolId(int tool) => $"tool-{tool + 1:D2}";

    /// <summary>Centres the readings of every sensor of tool <paramref name="tool"/> (0-based) on its recipe setpoints.</summary>
    public void SetMeans(int tool, float temperature, float pressure, float flowRate)
    {
        _means[tool * 3] = temperature;
        _means[(tool * 3) + 1] = pressure;
        _means[(tool * 3) + 2] = flowRate;
    }

    /// <summary>Readings per tick: one per tool and sensor.</summary>
    public int ChannelCount => _channels.Length;

    /// <summary>Writes one reading per channel for the next tick into <paramref name="destination"/>.</summary>
    public void NextTick(Span<LabelledReading> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, _channels.Length);
        var timestamp = _options.Start + (_options.Interval * _tick++);
        for (var i = 0; i < _channels.Length; i++)
        {
            destination[i] = Next(_channels[i], timestamp);
        }
    }

    /// <summary>Enumerates <paramref name="ticks"/> ticks of readings, channel by channel.</summary>
    public IEnumerable<LabelledReading> Generate(int ticks)
    {
        var buffer = new LabelledReading[_channels.Length];
        for (var i = 0; i < ticks; i++)
        {
            NextTick(buffer);
            foreach (var reading in buffer)
            {
                yield return reading;
            }
        }
    }

    private LabelledReading Next(Channel channel, DateTimeOffset timestamp)
    {
        var means = _means.AsSpan(channel.Tool * 3, 3);
        var temperature = Normal(means[0], TemperatureSd);
        var pressure = Normal(means[1], PressureSd);
        var flow = Normal(means[2], FlowSd);

        if (channel.Remaining == 0 && _random.NextDouble() < _options.AnomalyRate)
        {
            StartEpisode(channel);
        }

        var kind = AnomalyKind.None;
        if (channel.Remaining > 0)
        {
            channel.Remaining--;
            channel.Age++;
            kind = channel.Kind;
            switch (channel.Kind)
            {
                case AnomalyKind.Spike:
                    temperature += channel.Sign * (float)(25 + (_random.NextDouble() * 35));
                    break;
                case AnomalyKind.Drift:
                    var offset = channel.Magnitude * channel.Age;
                    temperature += channel.Sign * offset;
                    // The first readings of a drift sit inside the noise band: no model and no
                    // engineer could call them, so they keep the healthy label.
                    if (offset < 3 * TemperatureSd)
                    {
                        kind = AnomalyKind.None;
                    }

                    break;
                case AnomalyKind.StuckAtRail:
                    switch (channel.Rail)
                    {
                        case 0: temperature = 0f; break;
                        case 1: pressure = 2000f; break;
                        default: flow = 0f; break;
                    }

                    break;
                case AnomalyKind.FlowBlockage:
                    // Jointly abnormal: each value alone may still look plausible.
                    flow -= channel.Magnitude * FlowSd;
                    pressure += channel.Magnitude * 0.8f * PressureSd;
                    break;
                case AnomalyKind.PressureLeak:
                    pressure -= channel.Magnitude * PressureSd;
                    temperature -= channel.Magnitude * 0.6f * TemperatureSd;
                    break;
                case AnomalyKind.None:
                default:
                    break;
            }
        }

        var reading = new SensorReading(channel.ToolId, channel.SensorId, timestamp, temperature, pressure, flow);
        return new LabelledReading(reading, kind);
    }

    private void StartEpisode(Channel channel)
    {
        channel.Kind = Kinds[_random.Next(Kinds.Length)];
        channel.Age = 0;
        channel.Sign = _random.Next(2) == 0 ? -1f : 1f;
        channel.Rail = _random.Next(3);
        (channel.Remaining, channel.Magnitude) = channel.Kind switch
        {
            AnomalyKind.Spike => (1, 0f),
            AnomalyKind.Drift => (_random.Next(20, 60), (float)(0.5 + _random.NextDouble())),
            AnomalyKind.StuckAtRail => (_random.Next(5, 20), 0f),
            AnomalyKind.FlowBlockage => (_random.Next(5, 20), (float)(2.5 + (_random.NextDouble() * 2))),
            _ => (_random.Next(5, 20), (float)(3 + (_random.NextDouble() * 2))),
        };
    }

    private float Normal(float mean, float sd)
    {
        // Box–Muller; 1 - NextDouble() keeps the logarithm's argument in (0, 1].
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return mean + (sd * (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
    }

    private sealed class Channel(string toolId, string sensorId, int tool)
    {
        public string ToolId { get; } = toolId;

        public int Tool { get; } = tool;

        public string SensorId { get; } = sensorId;

        public AnomalyKind Kind { get; set; }

        public int Remaining { get; set; }

        public int Age { get; set; }

        public float Sign { get; set; }

        public float Magnitude { get; set; }

        public int Rail { get; set; }
    }
}

using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference;

namespace RealTimeInference.Server.Simulation;

/// <summary>A lot as metrology reported it, and when.</summary>
internal readonly record struct MeasuredLot(DateTimeOffset MeasuredAt, long Number, Setpoints Setpoints, double ChamberAge, double Yield);

/// <summary>
/// The simulated tools' process inside the server (<see cref="ProcessSimulator"/>, the tools and seed of
/// Simulator:*): one lot per tool every Simulator:LotInterval, measured two lots later. The optimizer
/// reads states and sets recipes here; the sensor stream follows the recipes. Its anomaly episodes,
/// which cost lots yield, are its own draws (at <see cref="ProcessSimulatorOptions.AnomalyRate"/>), not
/// the stream's. Thread-safe.
/// </summary>
internal sealed partial class FabProcess(IOptions<SimulatorOptions> options, TimeProvider time, ILogger<FabProcess> logger) : BackgroundService
{
    /// <summary>Measured lots kept per tool for the dashboard and the decisions' outcomes.</summary>
    public const int History = 360;

    private readonly Lock _lock = new();
    private readonly ProcessSimulator _simulator = new(new ProcessSimulatorOptions { Tools = options.Value.Tools, Seed = options.Value.Seed });
    private readonly Queue<MeasuredLot>[] _measured = [.. Enumerable.Range(0, options.Value.Tools).Select(_ => new Queue<MeasuredLot>())];

    /// <summary>Whether lots run (Simulator:Enabled); with no process there is nothing to optimise.</summary>
    public bool Running => options.Value.Enabled;

    public int ToolCount => _simulator.ToolCount;

    public string ToolId(int tool) => _simulator.ToolId(tool);

    /// <summary>The index of <paramref name="toolId"/>, or -1.</summary>
    public int Find(string toolId)
    {
        for (var t = 0; t < _simulator.ToolCount; t++)
        {
            if (string.Equals(_simulator.ToolId(t), toolId, StringComparison.Ordinal))
            {
                return t;
            }
        }

        return -1;
    }

    /// <summary>The number the next lot run will have: a recipe set now first runs in it.</summary>
    public long NextLot
    {
        get
        {
            lock (_lock)
            {
                return _simulator.Lots + 1;
            }
        }
    }

    public ProcessState State(int tool)
    {
        lock (_lock)
        {
            return _simulator.State(tool);
        }
    }

    /// <summary>Sets the tool's recipe from its next lot on; returns that lot's number.</summary>
    public long Apply(int tool, Setpoints setpoints)
    {
        lock (_lock)
        {
            _simulator.Apply(tool, setpoints);
            return _simulator.Lots + 1;
        }
    }

    /// <summary>The tool's measured lots, oldest first (up to <see cref="History"/>).</summary>
    public IReadOnlyList<MeasuredLot> Measured(int tool)
    {
        lock (_lock)
        {
            return [.. _measured[tool]];
        }
    }

    /// <summary>The tool's last measured lot; null before metrology reported one.</summary>
    public MeasuredLot? LastMeasured(int tool)
    {
        lock (_lock)
        {
            return _measured[tool].Count > 0 ? _measured[tool].Last() : null;
        }
    }

    /// <summary>Runs one lot on every tool now (the loop's step; tests call it to drive the process).</summary>
    public void RunLot()
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            foreach (var lot in _simulator.Step())
            {
                var queue = _measured[lot.Tool];
                if (queue.Count == History)
                {
                    queue.Dequeue();
                }

                queue.Enqueue(new MeasuredLot(now, lot.Number, lot.State.Setpoints, lot.State.ChamberAge, lot.MeasuredYield));
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Running)
        {
            return;
        }

        LogStarted(logger, ToolCount, options.Value.LotInterval);
        using var timer = new PeriodicTimer(options.Value.LotInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                RunLot();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = LogEvents.ProcessStarted, Level = LogLevel.Information, Message = "Process simulation running: {Tools} tools, a lot each every {LotInterval}")]
    private static partial void LogStarted(ILogger logger, int tools, TimeSpan lotInterval);
}

using System.Runtime.InteropServices;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Sub-millisecond blocking sleep. .NET timers and Thread.Sleep have millisecond granularity; nanosleep(2)
/// wakes within tens of microseconds and, unlike spinning, leaves the CPU to the server on the same machine.
/// </summary>
internal static partial class PreciseSleep
{
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    public static void For(TimeSpan span)
    {
        var request = new TimeSpec(span.Ticks / TimeSpan.TicksPerSecond, span.Ticks % TimeSpan.TicksPerSecond * 100);
        _ = NanoSleep(in request, 0);
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct TimeSpec(long seconds, long nanoseconds)
    {
        public readonly long Seconds = seconds;
        public readonly long Nanoseconds = nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in TimeSpec request, nint remaining);
}

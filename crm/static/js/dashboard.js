// The dashboards' charts, drawn with Apache ECharts (static/vendor/echarts, no CDN).
// No inline scripts: the CSP allows only files from 'self'. The page puts the series,
// with their translated names, in <script type="application/json" id="dashboard-data">;
// the same numbers are in the tables beside each chart.
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") return;
  const data = JSON.parse(source.textContent);

  // Readable on a projector: big type, dark ink on white, saturated colours, labels on bars.
  const INK = "#111111";
  const COLORS = ["#0b3d91", "#d9480f", "#2b8a3e", "#862e9c"];
  const ALERT = "#b02a37";
  const FONT = 18;
  const NO_VALUE = data.no_value || "—";
  const lang = document.documentElement.lang || undefined;
  const numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  const fmt = (value) => numberFormat.format(value);
  const pct = (value) => `${numberFormat.format(value)}%`;

  const axisText = { fontSize: FONT, color: INK };
  const axisName = { fontSize: FONT, color: INK, fontWeight: "bold" };
  const axisLine = { show: true, lineStyle: { color: INK, width: 2 } };
  const splitLine = { lineStyle: { color: "#9a9a9a", type: "dashed" } };

  const label = (position, formatter) => ({
    show: true,
    position,
    fontSize: FONT,
    fontWeight: "bold",
    color: INK,
    formatter: (params) => formatter(params.value),
  });

  const base = (legend) => ({
    color: COLORS,
    animationDuration: 300,
    aria: { enabled: true },
    textStyle: { fontSize: FONT, color: INK },
    grid: { left: 8, right: 72, top: legend ? 56 : 16, bottom: 8, containLabel: true },
    legend: {
      show: legend,
      top: 0,
      textStyle: { fontSize: FONT, color: INK },
      itemWidth: 28,
      itemHeight: 16,
    },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, textStyle: { fontSize: FONT } },
  });

  // A rate with nothing to divide by draws no bar and reads "—", as in the table.
  const points = (values) =>
    values.map((value) =>
      value === null
        ? { value: 0, label: { formatter: NO_VALUE }, itemStyle: { opacity: 0 } }
        : value,
    );

  const charts = [];
  const draw = (name, option) => {
    const element = document.querySelector(`[data-chart="${name}"]`);
    if (!element || !data[name]) return;
    const chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option(data[name]));
    charts.push(chart);
  };

  // Projects by stage: one horizontal bar per stage, the ladder read top to bottom.
  draw("stages", (d) => ({
    ...base(false),
    xAxis: { type: "value", minInterval: 1, axisLabel: axisText, splitLine },
    yAxis: { type: "category", inverse: true, data: d.categories, axisLabel: axisText, axisLine },
    series: d.series.map((s) => ({
      name: s.name,
      type: "bar",
      barMaxWidth: 36,
      data: s.data,
      label: label("right", fmt),
    })),
  }));

  // Signed per month: bars for the count (left axis), a line for the amount (right axis).
  draw("monthly", (d) => ({
    ...base(true),
    xAxis: { type: "category", data: d.categories, axisLabel: axisText, axisLine },
    yAxis: [
      {
        type: "value",
        name: d.count_axis,
        nameTextStyle: axisName,
        minInterval: 1,
        axisLabel: axisText,
        splitLine,
      },
      {
        type: "value",
        name: d.amount_axis,
        nameTextStyle: axisName,
        axisLabel: axisText,
        splitLine: { show: false },
      },
    ],
    series: d.series.map((s) =>
      s.kind === "amount"
        ? {
            name: s.name,
            type: "line",
            yAxisIndex: 1,
            data: s.data,
            symbolSize: 10,
            lineStyle: { width: 4 },
            // Coloured like the line, with a white halo so it stays legible over a bar.
            label: {
              ...label("top", (v) => (v ? fmt(v) : "")),
              color: COLORS[1],
              textBorderColor: "#ffffff",
              textBorderWidth: 4,
            },
          }
        : {
            name: s.name,
            type: "bar",
            barMaxWidth: 40,
            data: s.data,
            label: label("top", (v) => (v ? fmt(v) : "")),
            itemStyle: { color: COLORS[0] },
          },
    ),
  }));

  // Target completion: one bar per metric, a line at the schedule (序时进度).
  draw("targets", (d) => {
    const values = d.series.flatMap((s) => s.data).filter((v) => v !== null);
    const max = Math.max(100, d.schedule || 0, ...values);
    const options = base(false);
    // Room above the plot for the schedule line's two-line label.
    options.grid = { ...options.grid, top: 64 };
    return {
      ...options,
      xAxis: {
        type: "value",
        max: Math.ceil((max * 1.15) / 10) * 10,
        axisLabel: { ...axisText, formatter: "{value}%" },
        splitLine,
      },
      yAxis: { type: "category", inverse: true, data: d.categories, axisLabel: axisText, axisLine },
      series: d.series.map((s) => ({
        name: s.name,
        type: "bar",
        barMaxWidth: 44,
        data: points(s.data).map((point) =>
          typeof point === "number" && point < d.schedule
            ? { value: point, itemStyle: { color: ALERT } }
            : point,
        ),
        label: label("right", pct),
        markLine: {
          symbol: "none",
          silent: true,
          lineStyle: { color: INK, width: 3, type: "solid" },
          label: {
            show: true,
            position: "start",
            fontSize: FONT,
            fontWeight: "bold",
            color: INK,
            formatter: `${d.schedule_name}\n${pct(d.schedule)}`,
          },
          data: [{ xAxis: d.schedule }],
        },
      })),
    };
  });

  // Rates, with the city's goals beside them where set.
  draw("rates", (d) => ({
    ...base(d.series.length > 1),
    xAxis: {
      type: "value",
      min: 0,
      // Funds in place can pass the contract amount: the axis grows past 100% then.
      max: Math.ceil(Math.max(100, ...d.series.flatMap((s) => s.data).filter((v) => v !== null)) / 10) * 10,
      axisLabel: { ...axisText, formatter: "{value}%" },
      splitLine,
    },
    yAxis: { type: "category", inverse: true, data: d.categories, axisLabel: axisText, axisLine },
    series: d.series.map((s, index) => ({
      name: s.name,
      type: "bar",
      barMaxWidth: 32,
      data: index === 0 ? points(s.data) : s.data,
      label: label("right", pct),
      itemStyle: index === 0 ? undefined : { color: "#7a7a7a" },
    })),
  }));

  const resize = () => charts.forEach((chart) => chart.resize());
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
})();

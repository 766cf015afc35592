/* dcc.Graph resizes every graph it has just drawn (Plotly.Plots.resize: a 100 ms timer, then a
   full redraw), though Plotly drew it at its container's size: on every page or filter change
   that put the figures on screen about 130 ms later. A resize that would not change the
   graph's size is skipped here; a real one (the window or the container changed) still runs. */
(function () {
    function patch() {
        var Plotly = window.Plotly;
        if (!Plotly || !Plotly.Plots || !Plotly.Plots.resize) return false;
        if (Plotly.Plots.resize.dvcflowSkipsNoop) return true;
        var resize = Plotly.Plots.resize;
        var skipping = function (gd) {
            var el = typeof gd === "string" ? document.getElementById(gd) : gd;
            var full = el && el._fullLayout;
            if (full && el.clientWidth > 0 && !el._redrawTimer) {
                var style = window.getComputedStyle(el);
                var width = parseFloat(style.width);
                var height = parseFloat(style.height);
                if (Math.abs(full.width - width) < 1 && Math.abs(full.height - height) < 1) {
                    return Promise.resolve(el);
                }
            }
            return resize.apply(this, arguments);
        };
        skipping.dvcflowSkipsNoop = true;
        Plotly.Plots.resize = skipping;
        return true;
    }
    if (patch()) return;
    // Plotly arrives with the first graph (dcc loads it on demand): patch it as it is set.
    var current;
    Object.defineProperty(window, "Plotly", {
        configurable: true,
        get: function () {
            return current;
        },
        set: function (value) {
            current = value;
            patch();
        },
    });
})();

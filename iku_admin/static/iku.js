// Ask for confirmation before a workflow action is recorded (it cannot be undone).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A link to "#" stands for a script's action where Flask-Admin writes javascript:void(0) or
// onclick="return false" (both blocked by the Content-Security-Policy): menus, filters, column
// help. Its scripts still run; the page does not jump to its top.
document.addEventListener("click", function (event) {
  if (event.target.closest('a[href="#"]')) {
    event.preventDefault();
  }
});

// A list's "with selected" menu (templates/admin/actions.html): its items carry data-action
// rather than Flask-Admin's inline onclick, which the Content-Security-Policy blocks. Run
// Flask-Admin's action for them: it asks for confirmation where the action has one and posts
// the selected rows.
document.addEventListener("click", function (event) {
  var item = event.target.closest("a.dropdown-item[data-action]");
  if (!item || typeof modelActions === "undefined") {
    return;
  }
  event.preventDefault();
  modelActions.execute(item.getAttribute("data-action"));
});

// The "Add ..." button of an inline form list (templates/admin/model/inline_list_base.html)
// carries data-inline-add rather than Flask-Admin's inline onclick: add the form as it would.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-inline-add]");
  if (!button || typeof faForm === "undefined") {
    return;
  }
  event.preventDefault();
  faForm.addInlineField(button, button.getAttribute("data-inline-add"));
});

// A list's filter scripts and styles wait in an inert <template id="filter-assets">
// (templates/admin/iku_list.html) until the filter menu is first opened: then they are added to
// the page, in order. A filter chosen before they have run is added once they have.
(function () {
  var ready = null;
  var loaded = false;
  function load(assets) {
    if (!ready) {
      ready = new Promise(function (resolve) {
        var last = null;
        Array.prototype.forEach.call(assets.content.children, function (original) {
          var copy = document.createElement(original.tagName.toLowerCase());
          Array.prototype.forEach.call(original.attributes, function (attribute) {
            copy.setAttribute(attribute.name, attribute.value);
          });
          if (copy.tagName === "SCRIPT") {
            copy.async = false; // run in document order, as they would have
            last = copy;
          }
          document.body.appendChild(copy);
        });
        last.addEventListener("load", function () {
          loaded = true;
          resolve();
        });
      });
    }
    return ready;
  }
  document.addEventListener("click", function (event) {
    var assets = document.getElementById("filter-assets");
    var menu = event.target.closest("a.dropdown-toggle");
    var item = event.target.closest(".field-filters a.filter");
    if (!assets || loaded) {
      return;
    }
    if (menu && menu.parentElement.querySelector(".field-filters")) {
      load(assets);
    } else if (item) {
      event.preventDefault();
      load(assets).then(function () {
        item.click();
      });
    }
  }, true);
})();

// Column help (Bootstrap tooltips) on every list, with or without its filter scripts.
if (window.jQuery && jQuery.fn.tooltip) {
  jQuery("[data-role=tooltip]").tooltip({ placement: "bottom" });
}

// Flask-Admin's filter rows give their value field no label: name it after its filter.
(function () {
  var filters = document.querySelector("#filter_form .filters");
  if (!filters) {
    return;
  }
  new MutationObserver(function () {
    filters.querySelectorAll("tr").forEach(function (row) {
      var name = row.querySelector(".remove-filter");
      row.querySelectorAll(".filter-val:not([aria-label])").forEach(function (field) {
        field.setAttribute("aria-label", name ? name.textContent.replace("\u00d7", "").trim() : "");
      });
    });
  }).observe(filters, { childList: true, subtree: true });
})();


// Flask-Admin's date pickers (a list's date filters) draw their calendars with moment.js, which
// Flask-Admin ships without its Indonesian locale: on an Indonesian page, give moment the
// Indonesian month and day names as soon as it has loaded, before any picker is made.
(function () {
  if (document.documentElement.lang !== "id") {
    return;
  }
  function indonesian() {
    if (!window.moment || moment.locale() === "id") {
      return;
    }
    moment.defineLocale("id", {
      months: "Januari_Februari_Maret_April_Mei_Juni_Juli_Agustus_September_Oktober_November_Desember".split("_"),
      monthsShort: "Jan_Feb_Mar_Apr_Mei_Jun_Jul_Agt_Sep_Okt_Nov_Des".split("_"),
      weekdays: "Minggu_Senin_Selasa_Rabu_Kamis_Jumat_Sabtu".split("_"),
      weekdaysShort: "Min_Sen_Sel_Rab_Kam_Jum_Sab".split("_"),
      weekdaysMin: "Mg_Sn_Sl_Rb_Km_Jm_Sb".split("_"),
      week: { dow: 0, doy: 6 },
    });
  }
  indonesian();
  document.addEventListener("load", function (event) {
    if (event.target.tagName === "SCRIPT") {
      indonesian();
    }
  }, true);
})();

// Select2's "×" on a chosen item is no keyboard stop (Backspace removes the item): hidden from
// screen readers, which read the item itself, rather than offered as a link without a name.
new MutationObserver(function () {
  document.querySelectorAll(".select2-search-choice-close:not([aria-hidden])").forEach(function (x) {
    x.setAttribute("aria-hidden", "true");
  });
}).observe(document.body, { childList: true, subtree: true });

// A table or chart that scrolls in its own box (on a phone) is a keyboard stop when nothing in
// it is, so that it can be scrolled without a mouse.
(function () {
  function scrollers() {
    document.querySelectorAll("main table.table, div.sop-chart").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth;
      if (scrolls && !box.querySelector("a[href], button, input, select, textarea")) {
        box.setAttribute("tabindex", "0");
      } else if (!scrolls) {
        box.removeAttribute("tabindex");
      }
    });
  }
  scrollers();
  window.addEventListener("resize", scrollers);
})();

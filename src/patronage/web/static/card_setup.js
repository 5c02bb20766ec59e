// The card-setup page: Stripe Elements collects the card and confirms the SetupIntent whose
// client secret the server gave; the form then posts the SetupIntent's id (never card data).
(function () {
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.key);
  var elements = stripe.elements({ clientSecret: form.dataset.secret });
  var payment = elements.create("payment");
  payment.mount("#card-element");
  var status = document.getElementById("card-status");
  form.addEventListener("submit", function (event) {
    if (form.dataset.confirmed === "yes") { return; }
    event.preventDefault();
    form.querySelector("button").disabled = true;
    stripe.confirmSetup({ elements: elements, redirect: "if_required" }).then(function (result) {
      if (result.error) {
        status.textContent = result.error.message;
        form.querySelector("button").disabled = false;
        return;
      }
      form.elements["setup_intent"].value = result.setupIntent.id;
      form.dataset.confirmed = "yes";
      form.submit();
    });
  });
})();
